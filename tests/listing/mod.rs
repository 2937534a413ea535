//! What the golden-file test crates share: each checks that every file in
//! its folder has a test.

use std::fs;
use std::path::Path;

/// The `.txt` files in `dir`, by name, sorted.
pub fn txt_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = fs::read_dir(dir)
        .expect("the folder of test files")
        .map(|e| {
            e.expect("a folder entry")
                .file_name()
                .into_string()
                .expect("a UTF-8 name")
        })
        .filter(|f| f.ends_with(".txt"))
        .collect();
    files.sort();
    files
}
