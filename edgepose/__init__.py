"""edgepose: body pose on the edge (BlazePose on LiteRT or Coral), activity events over MQTT."""

__version__ = "0.1.0"
