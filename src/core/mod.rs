//! The pure core: revision files, the revision graph, target resolution and
//! planning. Nothing in here performs I/O.

pub mod authoring;
pub mod autogen;
pub mod describe;
pub mod duration;
pub mod graph;
pub mod import;
pub mod lint;
pub mod lock_risk;
pub mod lock_trace;
pub mod offline;
pub mod plan;
pub mod policy;
#[cfg(test)]
mod random_graphs;
pub mod reach;
pub mod revision;
pub(crate) mod rows;
pub mod schema;
pub mod short_id;
pub mod split;
pub mod target;
pub mod topo;

#[cfg(test)]
mod layering {
    /// The core is pure: it may use only itself and outside crates, never the
    /// config, the database layer or a front end.
    #[test]
    fn nothing_in_core_imports_from_outside_core() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core");
        let mut offenders = Vec::new();
        for path in source_files(&dir) {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for (number, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                if code.contains("crate::") && !code.contains("crate::core") {
                    offenders.push(format!(
                        "{}:{}: {}",
                        path.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
        assert!(offenders.is_empty(), "{}", offenders.join("\n"));
    }

    /// The files below `dir`, subdirectories (`core/schema/`) included.
    fn source_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).expect("src/core") {
            let path = entry.expect("entry").path();
            match path.is_dir() {
                true => files.extend(source_files(&path)),
                false => files.push(path),
            }
        }
        files
    }
}
