// The catalog directory is embedded with include_dir!; rebuild when any file in it changes.
fn main() {
    println!("cargo:rerun-if-changed=../../catalog");
}
