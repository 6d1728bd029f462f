use trailhead::workflow;

async fn book(seat: u32) -> Result<u32, std::io::Error> {
    Ok(seat)
}

// Takes a `String`, but `book` gives a `u32`.
async fn cancel(booking: String) -> Result<(), std::io::Error> {
    let _ = booking;
    Ok(())
}

workflow! {
    workflow trip(seat: u32) -> Result<u32, trailhead::Error> {
        let booking = step book(seat).compensate(cancel);
        Ok(booking)
    }
}

fn main() {}
