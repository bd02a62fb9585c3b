//! A one-line text input (filters, the field editor): typing appends, Backspace removes the
//! last character, Ctrl-U clears. Bounded, so a pasted flood stays small.

/// The most characters an input holds.
pub const MAX_INPUT: usize = 1024;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    text: String,
}

impl Input {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.chars().take(MAX_INPUT).collect(),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Appends `c` unless the input is full or `c` is a control character.
    pub fn push(&mut self, c: char) {
        if !c.is_control() && self.text.chars().count() < MAX_INPUT {
            self.text.push(c);
        }
    }

    pub fn backspace(&mut self) {
        self.text.pop();
    }

    pub fn clear(&mut self) {
        self.text.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_printable_only() {
        let mut i = Input::new(&"x".repeat(MAX_INPUT + 10));
        assert_eq!(i.text().len(), MAX_INPUT);
        i.push('y');
        assert_eq!(i.text().len(), MAX_INPUT);
        let mut i = Input::default();
        i.push('a');
        i.push('\u{1b}');
        i.push('é');
        assert_eq!(i.text(), "aé");
        i.backspace();
        assert_eq!(i.text(), "a");
        i.clear();
        assert_eq!(i.text(), "");
    }
}
