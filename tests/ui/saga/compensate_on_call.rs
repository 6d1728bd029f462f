use trailhead::workflow;

async fn book(seat: u32) -> Result<u32, std::io::Error> {
    Ok(seat)
}

async fn cancel(seat: u32) -> Result<(), std::io::Error> {
    let _ = seat;
    Ok(())
}

workflow! {
    workflow leg(seat: u32) -> Result<u32, trailhead::Error> {
        let booking = step book(seat).compensate(cancel);
        Ok(booking)
    }

    workflow trip(seat: u32) -> Result<u32, trailhead::Error> {
        let booking = call leg(seat).compensate(cancel);
        Ok(booking)
    }
}

fn main() {}
