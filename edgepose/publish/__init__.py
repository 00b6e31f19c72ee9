"""Publishers: where poses, events, state and stats go (MQTT, stdout), and the durable event spool."""
