"""The wire contract between the public API and ai-service: request and response schemas, the
typed stream event payloads and the service token. Both sides import it; it imports only
``core``."""
