use trailhead::workflow;

async fn book(seat: u32) -> Result<u32, std::io::Error> {
    Ok(seat)
}

// Gives the refund back instead of `()`.
async fn refund(seat: u32) -> Result<u32, std::io::Error> {
    Ok(seat)
}

workflow! {
    workflow trip(seat: u32) -> Result<u32, trailhead::Error> {
        let booking = step book(seat).compensate(refund);
        Ok(booking)
    }
}

fn main() {}
