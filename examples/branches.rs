//! Branches: `if`/`else` and `match` with steps in the arms. Only the arm taken runs
//! (and is journaled).
//!
//! `cargo run --example branches`

use serde::{Deserialize, Serialize};
use trailhead::{Engine, workflow};

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
enum Tier {
    Free,
    Pro,
    Enterprise { seats: u32 },
}

async fn send_welcome(email: &str) -> Result<(), std::io::Error> {
    println!("  welcome mail to {email}");
    Ok(())
}

async fn open_ticket(email: &str, seats: u32) -> Result<u64, std::io::Error> {
    println!("  sales ticket for {email} ({seats} seats)");
    Ok(7)
}

async fn charge(email: &str, cents: u32) -> Result<String, std::io::Error> {
    Ok(format!("charged {email} {cents} cents"))
}

workflow! {
    /// Signs a customer up according to their tier.
    workflow sign_up(email: String, tier: Tier) -> Result<String, trailhead::Error> {
        if email.ends_with("@example.com") {
            step send_welcome(&email);
        }
        let outcome = match tier {
            Tier::Free => "free plan".to_owned(),
            Tier::Pro => step charge(&email, 1_200),
            Tier::Enterprise { seats } if seats > 100 => {
                let ticket = step open_ticket(&email, seats);
                format!("ticket #{ticket}")
            }
            Tier::Enterprise { seats } => step charge(&email, 1_000 * seats).name("charge_seats"),
        };
        Ok(outcome)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::new();
    for tier in [
        Tier::Free,
        Tier::Pro,
        Tier::Enterprise { seats: 500 },
        Tier::Enterprise { seats: 3 },
    ] {
        println!("{tier:?}:");
        let outcome = sign_up::run(&engine, "ada@example.com".to_owned(), tier).await?;
        println!("  -> {outcome}");
    }
    Ok(())
}
