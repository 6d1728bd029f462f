use trailhead::workflow;

async fn charge(cents: u64) -> Result<u64, std::io::Error> {
    Ok(cents)
}

workflow! {
    workflow pay(cents: u64) -> Result<u64, trailhead::Error> {
        Ok(step charge(cents))
    }

    workflow pay_all(bills: Vec<u64>) -> Result<u64, trailhead::Error> {
        let mut total = 0_u64;
        stream for cents in trailhead::stream::iter(bills) {
            total += call pay(cents);
        }
        Ok(total)
    }
}

fn main() {}
