"""What runs inside the Rasa server: domain, custom channels and custom NLU components."""
