//! report.txt against the code: its tables are `blackboard sim --report`'s
//! lines, and it stays the lab's short answer to the four questions.

use blackboard::sim::report::lines;

/// The lab's "small text file": at most 1,200 words, the four questions
/// of Task 4 as its sections, in the lab's order, then the reboot.
#[test]
fn report_txt_is_short_and_answers_the_four_questions_in_order() {
    let report = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/report.txt"))
        .expect("report.txt at the project root");
    let words = report.split_whitespace().count();
    assert!(words <= 1200, "report.txt has {words} words");
    let headings = [
        "1. The cost of the election",
        "2. Is it a correct election algorithm?",
        "3. The cost of adding a message",
        "4. Pros and cons of a centralized solution",
        "5. When the old leader reboots",
    ];
    let at: Vec<Option<usize>> = headings.iter().map(|h| report.find(h)).collect();
    assert!(at.iter().all(Option::is_some), "missing a heading: {at:?}");
    assert!(at.windows(2).all(|w| w[0] < w[1]), "headings out of order");
}

/// report.txt quotes these tables: when the code's costs change, the
/// report must change with them.
#[test]
fn report_txt_quotes_every_line_of_the_tables() {
    let report = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/report.txt"))
        .expect("report.txt at the project root");
    let missing: Vec<String> = lines()
        .into_iter()
        .map(|l| l.trim_end().to_owned())
        .filter(|l| !l.is_empty() && !report.contains(l.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "report.txt lacks {} of the lines `blackboard sim --report` prints, first:\n{}",
        missing.len(),
        missing[0]
    );
}
