// A cron literal with an hour that does not exist is refused at compile
// time, on the literal.
fn main() {
    let _schedule = trailhead::cron!("0 25 * * *");
}
