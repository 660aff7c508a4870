//! Compilation of a [`Node`] tree to a Thompson program, and a Pike VM that
//! runs it: leftmost-first matches (what Perl's backtracking finds for
//! these patterns) in time linear in the input, whatever the pattern.

use super::parse::{ByteSet, Node};

#[derive(Debug, Clone)]
pub(super) enum Inst {
    Byte(u8),
    Set(Box<ByteSet>),
    /// Try the first target, then the second (priority order).
    Split(usize, usize),
    Jmp(usize),
    Match,
}

/// Largest program accepted (counted repetition can blow a pattern up).
const MAX_PROGRAM: usize = 20_000;

pub(super) fn compile(node: &Node) -> Result<Vec<Inst>, String> {
    let mut prog = Vec::new();
    emit(node, &mut prog)?;
    prog.push(Inst::Match);
    Ok(prog)
}

fn push(prog: &mut Vec<Inst>, inst: Inst) -> Result<usize, String> {
    if prog.len() >= MAX_PROGRAM {
        return Err("pattern too large".into());
    }
    prog.push(inst);
    Ok(prog.len() - 1)
}

fn emit(node: &Node, prog: &mut Vec<Inst>) -> Result<(), String> {
    match node {
        Node::Empty => {}
        Node::Byte(b) => {
            push(prog, Inst::Byte(*b))?;
        }
        Node::Set(s) => {
            push(prog, Inst::Set(Box::new(*s)))?;
        }
        Node::Concat(items) => {
            for item in items {
                emit(item, prog)?;
            }
        }
        Node::Alt(branches) => {
            // split L1, next; L1: a; jmp end; next: split L2, ...; last
            let mut jumps = Vec::new();
            for (i, branch) in branches.iter().enumerate() {
                if i + 1 < branches.len() {
                    let split = push(prog, Inst::Split(0, 0))?;
                    emit(branch, prog)?;
                    jumps.push(push(prog, Inst::Jmp(0))?);
                    let next = prog.len();
                    prog[split] = Inst::Split(split + 1, next);
                } else {
                    emit(branch, prog)?;
                }
            }
            let end = prog.len();
            for j in jumps {
                prog[j] = Inst::Jmp(end);
            }
        }
        Node::Repeat {
            node,
            min,
            max,
            greedy,
        } => {
            for _ in 0..*min {
                emit(node, prog)?;
            }
            match max {
                None => {
                    // L: split body, end; body; jmp L
                    let split = push(prog, Inst::Split(0, 0))?;
                    emit(node, prog)?;
                    push(prog, Inst::Jmp(split))?;
                    let end = prog.len();
                    prog[split] = order(split + 1, end, *greedy);
                }
                Some(max) => {
                    // (body (body (...)?)?)? — each optional copy skips to the end.
                    let mut splits = Vec::new();
                    for _ in *min..*max {
                        splits.push(push(prog, Inst::Split(0, 0))?);
                        emit(node, prog)?;
                    }
                    let end = prog.len();
                    for s in splits {
                        prog[s] = order(s + 1, end, *greedy);
                    }
                }
            }
        }
    }
    Ok(())
}

fn order(body: usize, skip: usize, greedy: bool) -> Inst {
    if greedy {
        Inst::Split(body, skip)
    } else {
        Inst::Split(skip, body)
    }
}

/// True when the program can reach `Match` without consuming an octet.
pub(super) fn matches_empty(prog: &[Inst]) -> bool {
    let mut seen = vec![false; prog.len()];
    let mut stack = vec![0];
    while let Some(pc) = stack.pop() {
        if std::mem::replace(&mut seen[pc], true) {
            continue;
        }
        match &prog[pc] {
            Inst::Match => return true,
            Inst::Jmp(x) => stack.push(*x),
            Inst::Split(x, y) => {
                stack.push(*x);
                stack.push(*y);
            }
            Inst::Byte(_) | Inst::Set(_) => {}
        }
    }
    false
}

/// Outcome of a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Search {
    /// A match at `start..end`.
    Found {
        /// First octet of the match.
        start: usize,
        /// One past its last octet.
        end: usize,
    },
    /// No match in the data; none can start before `resume` even when more
    /// data arrives, so the next search may begin there.
    NotFound {
        /// Earliest position a match could still start at.
        resume: usize,
    },
}

#[derive(Debug, Default)]
struct Threads {
    list: Vec<(usize, usize)>,
    stack: Vec<usize>,
}

/// Working memory of [`search`], kept between searches (one per line in
/// `InputRegexp` mode) so that a search allocates nothing once warm. Its
/// size is bounded by the program's, not by the data.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    marks: Vec<usize>,
    clist: Threads,
    nlist: Threads,
}

/// Leftmost-first search of `hay[from..]`.
pub(super) fn search(prog: &[Inst], hay: &[u8], from: usize, scratch: &mut Scratch) -> Search {
    let Scratch {
        marks,
        clist,
        nlist,
    } = scratch;
    // marks[pc] == step + 1: pc is already on the list being built for step.
    // Marks left by an earlier search would be mistaken for this one's.
    marks.clear();
    marks.resize(prog.len(), 0);
    clist.list.clear();
    clist.stack.clear();
    nlist.list.clear();
    nlist.stack.clear();
    let mut found: Option<(usize, usize)> = None;
    let mut pos = from;
    loop {
        if found.is_none() {
            // A new attempt at `pos`, lowest priority.
            add(prog, marks, pos + 1, clist, 0, pos);
        }
        if clist.list.is_empty() {
            break;
        }
        let byte = hay.get(pos).copied();
        nlist.list.clear();
        let mut live_min: Option<usize> = None;
        for i in 0..clist.list.len() {
            let (pc, start) = clist.list[i];
            let next = match &prog[pc] {
                Inst::Match => {
                    found = Some((start, pos));
                    // Lower-priority threads (later starts included) lose.
                    break;
                }
                Inst::Byte(b) => byte == Some(*b),
                Inst::Set(s) => byte.is_some_and(|c| s.contains(c)),
                Inst::Split(..) | Inst::Jmp(_) => false,
            };
            if byte.is_none() && !matches!(prog[pc], Inst::Match) {
                live_min = Some(live_min.map_or(start, |m: usize| m.min(start)));
            }
            if next {
                add(prog, marks, pos + 2, nlist, pc + 1, start);
            }
        }
        if byte.is_none() {
            return match found {
                Some((start, end)) => Search::Found { start, end },
                None => Search::NotFound {
                    resume: live_min.unwrap_or(hay.len()),
                },
            };
        }
        std::mem::swap(clist, nlist);
        pos += 1;
    }
    match found {
        Some((start, end)) => Search::Found { start, end },
        None => Search::NotFound { resume: hay.len() },
    }
}

/// Add `pc` and everything reachable from it without consuming, in
/// priority order.
fn add(prog: &[Inst], marks: &mut [usize], gen: usize, t: &mut Threads, pc: usize, start: usize) {
    t.stack.push(pc);
    while let Some(pc) = t.stack.pop() {
        if marks[pc] == gen {
            continue;
        }
        marks[pc] = gen;
        match &prog[pc] {
            Inst::Jmp(x) => t.stack.push(*x),
            Inst::Split(x, y) => {
                t.stack.push(*y);
                t.stack.push(*x);
            }
            Inst::Byte(_) | Inst::Set(_) | Inst::Match => t.list.push((pc, start)),
        }
    }
}
