// Three fields are not a cron expression.
fn main() {
    let _schedule = trailhead::cron!("* * *");
}
