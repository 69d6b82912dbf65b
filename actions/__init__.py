"""Custom actions of 海珠商事登记助手 (run by the rasa-sdk action server).

rasa-sdk imports every submodule of this package at start-up, so modules here must stay cheap to import:
no database engine, model or network connection is created at import time.
"""
