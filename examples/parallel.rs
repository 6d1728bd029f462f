//! Concurrency: independent statements run at once, `.after` orders side
//! effects, `parallel for` fans out over a collection with a limit, and a named
//! resource caps calls into one API across every run.
//!
//! `cargo run --example parallel`

use std::time::{Duration, Instant};

use trailhead::{Engine, workflow};

async fn fetch_profile(user: u32) -> Result<String, std::io::Error> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(format!("user-{user}"))
}

async fn fetch_orders(user: u32) -> Result<Vec<u32>, std::io::Error> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok((1..=6).map(|i| user * 100 + i).collect())
}

async fn price_order(order: u32) -> Result<u64, std::io::Error> {
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(u64::from(order % 100) * 250)
}

async fn send_statement(profile: &str, total: u64) -> Result<(), std::io::Error> {
    println!("  statement for {profile}: {total} cents");
    Ok(())
}

async fn archive(user: u32) -> Result<(), std::io::Error> {
    println!("  archived user {user}");
    Ok(())
}

workflow! {
    /// Profile and orders load at once; the orders are priced 3 at a time
    /// (and at most 4 pricing calls run across all runs); the statement goes
    /// out when profile and prices are ready; archiving waits for it.
    workflow monthly_statement(user: u32) -> Result<u64, trailhead::Error> {
        let profile = step fetch_profile(user);
        let orders = step fetch_orders(user);
        let prices = parallel(limit = 3) for order in &orders {
            step price_order(*order).resource("pricing-api")
        };
        let total: u64 = prices.iter().sum();
        step send_statement(&profile, total);
        step archive(user).after(send_statement);
        Ok(total)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::builder().resource("pricing-api", 4).build();
    let started = Instant::now();
    let (a, b) = tokio::join!(
        monthly_statement::run(&engine, 1),
        monthly_statement::run(&engine, 2)
    );
    println!("totals {} and {} in {:?}", a?, b?, started.elapsed());
    println!("\n{}", monthly_statement::MERMAID);
    Ok(())
}
