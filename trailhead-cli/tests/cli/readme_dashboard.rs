//! The README's dashboard-in-your-server block, compiled as it is printed
//! there: the facade's doctests build without the `dashboard` feature, so
//! this test holds the block between two markers and checks it is the
//! README's, line for line.

use trailhead::Engine;

/// The README block, inside a function that gives it what it names
/// (`engine`, `token`, a `?` to return through). Compiled, not run: it
/// serves until the process stops.
#[allow(dead_code)]
async fn readme_server(engine: Engine, token: String) -> Result<(), Box<dyn std::error::Error>> {
    // README BEGIN
    use trailhead::dashboard::{Actions, Dashboard};

    let dashboard = Dashboard::new(engine.clone()).actions(Actions::Token(token));
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "my service" }))
        .nest("/trailhead", dashboard.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    axum::serve(listener, app).await?;
    // README END
    Ok(())
}

#[test]
fn the_readme_block_is_this_code() {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("```rust,ignore\nuse trailhead::dashboard::")
        .expect("the README's dashboard block");
    let block = &readme[start..];
    let block = &block[block.find('\n').unwrap() + 1..block.find("\n```\n").unwrap()];
    let this = include_str!("readme_dashboard.rs");
    let held = &this
        [this.find("// README BEGIN\n").unwrap() + 16..this.find("    // README END").unwrap()];
    let held: Vec<&str> = held
        .lines()
        .map(|line| line.strip_prefix("    ").unwrap_or(line))
        .collect();
    let printed: Vec<&str> = block.lines().collect();
    assert_eq!(printed, held, "README.md and this file differ");
}
