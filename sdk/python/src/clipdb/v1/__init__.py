"""Generated protobuf and gRPC modules of the clipdb.v1 API (do not edit them:
sdk/python/generate.sh regenerates them from proto/clipdb/v1/clipdb.proto)."""
