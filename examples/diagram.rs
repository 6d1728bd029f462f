//! Every workflow knows its picture: a Mermaid flowchart made at compile time,
//! available as a `const` and in the workflow's rustdoc.
//!
//! `cargo run --example diagram`

use trailhead::workflow;

async fn validate(doc: &str) -> Result<bool, std::io::Error> {
    Ok(!doc.is_empty())
}
async fn translate(doc: &str, language: &str) -> Result<String, std::io::Error> {
    Ok(format!("{doc} ({language})"))
}
async fn publish(doc: &str) -> Result<(), std::io::Error> {
    let _ = doc;
    Ok(())
}

workflow! {
    workflow publish_doc(doc: String, languages: Vec<String>) -> Result<usize, trailhead::Error> {
        let valid = step validate(&doc).retry(3, backoff = 100ms..2s);
        if !valid {
            return Ok(0);
        }
        let mut published = 0;
        for language in &languages {
            let translated = step translate(&doc, language).timeout(30s);
            step publish(&translated);
            published += 1;
        }
        Ok(published)
    }
}

fn main() {
    println!("{}", publish_doc::MERMAID);
    println!("%% definition hash: {:#018x}", publish_doc::DEFINITION_HASH);
}
