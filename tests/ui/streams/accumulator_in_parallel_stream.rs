use trailhead::workflow;

async fn price(sku: String) -> Result<u64, std::io::Error> {
    Ok(sku.len() as u64)
}

workflow! {
    workflow total(skus: Vec<String>) -> Result<u64, trailhead::Error> {
        let mut total = 0_u64;
        stream(limit = 8) for sku in trailhead::stream::iter(skus) {
            total += step price(sku);
        }
        Ok(total)
    }
}

fn main() {}
