// Embeds the default pack (intents/ and flows/) in the binary, so `destek` runs with no
// files beside it. The list is generated, so it cannot drift from the directories.
use std::fs;
use std::path::Path;

fn main() {
    let root = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let mut entries = Vec::new();
    for dir in ["intents", "flows"] {
        println!("cargo:rerun-if-changed={dir}");
        let Ok(read) = fs::read_dir(Path::new(&root).join(dir)) else {
            continue;
        };
        let mut files: Vec<_> = read
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .collect();
        files.sort();
        for f in files {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            // The path is resolved when the crate compiles, not here: a build script's output
            // reused by another checkout of the same crate still reads that checkout's pack.
            let file = format!("{dir}/{name}");
            entries.push(format!(
                "    ({file:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), {:?}))),\n",
                format!("/{file}")
            ));
        }
    }
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let code = format!(
        "pub const FILES: &[(&str, &str)] = &[\n{}];\n",
        entries.concat()
    );
    if let Err(e) = fs::write(Path::new(&out).join("embedded_pack.rs"), code) {
        panic!("cannot write the embedded pack list: {e}");
    }
}
