"""What runs inside the Rasa server: domain, custom channels and custom NLU components."""

# Rasa imports this package early (the channels of credentials.yml, the NLU components of the model): from then
# on phone numbers, message texts and SQL parameters are redacted from every log record of the Rasa server.
from core.logs import install

install()
