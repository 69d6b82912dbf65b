"""The curated knowledge: YAML schema, database models, loader and the repository the actions read through."""
