//! Sub-workflows: `call` runs another workflow as a child run with its own journal;
//! any workflow is also a typed async function for plain Rust code.
//!
//! `cargo run --example subworkflows`

use trailhead::{Engine, workflow};

async fn fetch_invoice(id: u32) -> Result<u32, std::io::Error> {
    Ok(id * 10)
}

async fn send_reminder(id: u32, cents: u32) -> Result<(), std::io::Error> {
    println!("  reminder for invoice {id}: {cents} cents due");
    Ok(())
}

workflow! {
    /// Reminds the customer of one unpaid invoice.
    workflow remind(id: u32) -> Result<u32, trailhead::Error> {
        let cents = step fetch_invoice(id);
        step send_reminder(id, cents);
        Ok(cents)
    }

    /// Reminds the customer of every unpaid invoice, one child run each.
    workflow remind_all(ids: Vec<u32>) -> Result<u32, trailhead::Error> {
        let mut due = 0;
        for id in ids {
            due += call remind(id);
        }
        Ok(due)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::new();
    // A workflow called like a function from plain Rust:
    let one = remind::run(&engine, 7).await?;
    println!("one invoice: {one} cents");
    // And as the parent of child runs:
    let all = remind_all::run(&engine, vec![1, 2, 3]).await?;
    println!("all invoices: {all} cents");
    for run in engine.store().list_runs(None).await? {
        let parent = run
            .parent
            .as_ref()
            .map(|p| format!(" (child of {p})"))
            .unwrap_or_default();
        println!(
            "  run {} {}{parent}: {:?}",
            run.id,
            run.workflow,
            run.status()
        );
    }
    Ok(())
}
