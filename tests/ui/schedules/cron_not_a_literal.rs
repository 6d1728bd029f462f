// `cron!` checks a literal; an expression known only at run time goes to
// `Schedule::cron`.
fn main() {
    let expression = "*/5 * * * *";
    let _schedule = trailhead::cron!(expression);
}
