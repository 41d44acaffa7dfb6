//! Generates `tempopb` (Tempo's protobuf messages, used by `src/tempopb.rs`) from the
//! gateway's `gateway/proto/tempopb.proto`, mapped to Rust as `gateway/build.rs` maps
//! it (without the JSON, which the tests read with their own decoder).

use std::env;
use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let proto_dir = manifest_dir.join("../gateway/proto");
    println!("cargo:rerun-if-changed={}", proto_dir.display());
    println!("cargo:rerun-if-env-changed=PROTOC");
    prost_build::Config::new()
        .btree_map(["."])
        .extern_path(
            ".opentelemetry.proto.common.v1",
            "::opentelemetry_proto::tonic::common::v1",
        )
        .extern_path(
            ".opentelemetry.proto.trace.v1",
            "::opentelemetry_proto::tonic::trace::v1",
        )
        .compile_protos(&[proto_dir.join("tempopb.proto")], &[&proto_dir])
        .unwrap_or_else(|error| {
            panic!(
                "cannot generate tempopb from gateway/proto/tempopb.proto: {error}\n\
                 hint: protoc comes from Debian's protobuf-compiler package \
                 (`scripts/setup.sh` installs it); PROTOC=<path> names another one"
            )
        });
}
