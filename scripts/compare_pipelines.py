"""Measure NLU pipeline candidates on this data: held-out intent macro-F1, training time, model load time and
parse latency. Used to choose config.yml (README, "Choosing the pipeline"). Takes a few minutes per candidate.

Usage: python -m scripts.compare_pipelines [candidate ...]
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

import yaml

from scripts.stack import ROOT, VENV_BIN, stack_environment

BASE = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))


def _replace_classifier(pipeline: List[Dict[str, Any]], new: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    out = []
    for component in pipeline:
        if component["name"] == "LogisticRegressionClassifier":
            out.extend(new)
        else:
            out.append(component)
    return out


def candidates() -> Dict[str, Dict[str, Any]]:
    base = copy.deepcopy(BASE)
    no_words = copy.deepcopy(BASE)
    no_words["pipeline"] = [c for c in no_words["pipeline"] if not (c["name"] == "CountVectorsFeaturizer" and c.get("analyzer") == "word")]
    no_normalizer = copy.deepcopy(BASE)
    no_normalizer["pipeline"] = [c for c in no_normalizer["pipeline"] if "TextNormalizer" not in c["name"]]
    diet = copy.deepcopy(BASE)
    diet["pipeline"] = _replace_classifier(
        diet["pipeline"], [{"name": "DIETClassifier", "epochs": 100, "entity_recognition": False, "random_seed": 42}]
    )
    return {"logreg": base, "logreg-chars-only": no_words, "logreg-no-normaliser": no_normalizer, "diet-100": diet}


def measure(name: str, config: Dict[str, Any], env: Dict[str, str], work: Path) -> Dict[str, Any]:
    config_path = work / f"{name}.yml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    out = work / name
    started = time.perf_counter()
    subprocess.run(
        [str(VENV_BIN / "rasa"), "train", "nlu", "--nlu", "data", "--config", str(config_path), "--out", str(out),
         "--fixed-model-name", name],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )
    train_seconds = time.perf_counter() - started
    model = out / f"{name}.tar.gz"
    probe = (
        "import asyncio,time,json,sys\n"
        "t=time.perf_counter()\n"
        "from rasa.core.agent import Agent\n"
        f"agent=Agent.load({str(model)!r})\n"
        "load=time.perf_counter()-t\n"
        "msgs=['开公司要多久','點樣開公司','简易注销公示多少天','那个体户呢','asdfgh']*20\n"
        "async def go():\n"
        "    lat=[]\n"
        "    for m in msgs:\n"
        "        s=time.perf_counter(); await agent.parse_message(m); lat.append((time.perf_counter()-s)*1000)\n"
        "    return sorted(lat)\n"
        "lat=asyncio.run(go())\n"
        "print(json.dumps({'load_seconds':load,'parse_p50_ms':lat[len(lat)//2],'parse_p95_ms':lat[int(len(lat)*0.95)]}))\n"
    )
    result = subprocess.run([str(VENV_BIN / "python"), "-c", probe], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    timing = json.loads(result.stdout.strip().splitlines()[-1])
    results = work / f"{name}-results"
    subprocess.run(
        [str(VENV_BIN / "rasa"), "test", "nlu", "--model", str(model), "--nlu", "tests/nlu", "--out", str(results)],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )
    report = json.loads((results / "intent_report.json").read_text(encoding="utf-8"))
    return {"candidate": name, "macro_f1": round(report["macro avg"]["f1-score"], 3),
            "train_seconds": round(train_seconds, 1), **{k: round(v, 2) for k, v in timing.items()}}


def main(names: List[str]) -> int:
    env = stack_environment()
    work = Path(tempfile.mkdtemp(prefix="hzbot-pipelines-"))
    chosen = candidates()
    rows = [measure(n, chosen[n], env, work) for n in (names or chosen)]
    print(f"{'candidate':24} {'macro-F1':>8} {'train s':>8} {'load s':>7} {'parse p50':>10} {'parse p95':>10}")
    for r in rows:
        print(f"{r['candidate']:24} {r['macro_f1']:>8} {r['train_seconds']:>8} {r['load_seconds']:>7} "
              f"{r['parse_p50_ms']:>8} ms {r['parse_p95_ms']:>7} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
