//! Textbook ddmin (Zeller & Hildebrandt 2002, "Simplifying and Isolating
//! Failure-Inducing Input"), serial, on the same engine and cache as minrepro's search:
//! the yardstick `minrepro bench` measures against.

use super::engine::Engine;
use super::{Oracle, Stop, Variant, Verdict};

/// A 1-minimal failing subset of `0..n`, which must fail as a whole.
pub fn ddmin<O: Oracle>(engine: &mut Engine<'_, O>, n: usize) -> Result<Variant, Stop> {
    let mut current: Vec<u32> = (0..n as u32).collect();
    let mut granularity = 2;
    while current.len() >= 2 {
        let chunks = split(&current, granularity);
        // Reduce to a subset.
        if let Some(chunk) = first_failing(engine, chunks.iter().cloned())? {
            current = chunk;
            granularity = 2;
            continue;
        }
        // Reduce to a complement (with two chunks, the complements are the chunks).
        if granularity > 2 {
            let complements = (0..chunks.len()).map(|skip| {
                chunks
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .flat_map(|(_, c)| c.iter().copied())
                    .collect::<Vec<u32>>()
            });
            if let Some(complement) = first_failing(engine, complements)? {
                current = complement;
                granularity = (granularity - 1).max(2);
                continue;
            }
        }
        if granularity >= current.len() {
            break;
        }
        granularity = (granularity * 2).min(current.len());
    }
    Ok(Variant::new(current))
}

fn first_failing<O: Oracle>(
    engine: &mut Engine<'_, O>,
    candidates: impl Iterator<Item = Vec<u32>>,
) -> Result<Option<Vec<u32>>, Stop> {
    for candidate in candidates {
        if engine.test(Variant::new(candidate.clone()))? == Verdict::Fail {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

/// `items` in `parts` contiguous chunks of nearly equal size.
fn split(items: &[u32], parts: usize) -> Vec<Vec<u32>> {
    let parts = parts.min(items.len()).max(1);
    let mut chunks = Vec::with_capacity(parts);
    let mut start = 0;
    for i in 0..parts {
        let end = start + (items.len() - start) / (parts - i);
        chunks.push(items[start..end].to_vec());
        start = end;
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_everything_in_order() {
        let items: Vec<u32> = (0..10).collect();
        let chunks = split(&items, 3);
        assert_eq!(chunks.concat(), items);
        assert_eq!(chunks.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 4]);
    }
}
