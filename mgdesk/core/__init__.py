"""The engine: decoding, embedding, storage, grouping and actions. Never imports Qt."""
