//! clipdb: a vector database server for text-to-image search with CLIP.

pub mod proto {
    //! Generated protobuf and gRPC code for `clipdb.v1`.
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("clipdb.v1");

    /// Encoded descriptors of the API, served by gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("clipdb_descriptor");
}

pub mod api;
pub mod bench;
pub mod cluster;
pub mod demo;
pub mod embed;
pub mod engine;
pub mod index;
pub mod server;
pub mod storage;
pub mod utc;
