"""Custom NLU components: text normalisation before tokenising, and the guard for empty input."""
