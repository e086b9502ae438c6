//! clipdb: a vector database server for text-to-image search with CLIP.

pub mod embed;
