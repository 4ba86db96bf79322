import Foundation
import Glibc

/// One named number shown after the bar, e.g. `loss: 0.4321`.
struct ProgressMetric: Equatable, Sendable {
    var name: String
    var value: Double

    init(_ name: String, _ value: Double) {
        self.name = name
        self.value = value
    }
}

/// Everything one progress line shows.
struct ProgressState: Equatable, Sendable {
    /// Steps (batches) done so far.
    var step: Int
    /// Steps in the epoch; nil when unknown.
    var total: Int?
    /// Seconds since the bar started.
    var elapsed: Double
    /// Samples processed so far (for samples/s).
    var samples: Int
    var metrics: [ProgressMetric]
    /// True for the closing line: elapsed time instead of ETA, a full bar.
    var finished: Bool = false
}

/// Pure formatting of Keras-style progress lines (`Progbar`):
/// `step/total [=====>....] - ETA: 12s - 1834 samples/s - loss: 0.4321 - accuracy: 0.8712`.
enum ProgressFormat {
    static let defaultBarWidth = 30

    /// The bracketed bar: `=` for done, `>` at the head while running, `.` for the rest (Keras' arithmetic).
    static func bar(step: Int, total: Int, width: Int = defaultBarWidth) -> String {
        guard total > 0, width > 0 else { return "[" + String(repeating: ".", count: max(0, width)) + "]" }
        let done = min(max(step, 0), total)
        let filled = Int(Double(width) * Double(done) / Double(total))
        var bar = "["
        if filled > 0 {
            bar += String(repeating: "=", count: filled - 1)
            bar += done < total ? ">" : "="
        }
        bar += String(repeating: ".", count: width - filled)
        return bar + "]"
    }

    /// Keras' durations: `45s`, `2:05` (over a minute), `1:02:05` (over an hour).
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds)
        if s >= 3600 { return String(format: "%d:%02d:%02d", s / 3600, (s % 3600) / 60, s % 60) }
        if s >= 60 { return String(format: "%d:%02d", s / 60, s % 60) }
        return "\(s)s"
    }

    /// Keras' metric values: 4 decimals, or scientific notation when |value| ≤ 1e-3.
    static func metricValue(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        return abs(value) > 1e-3 ? String(format: "%.4f", value) : String(format: "%.4e", value)
    }

    /// The whole line (no `\r`, no newline).
    static func line(_ state: ProgressState, barWidth: Int = defaultBarWidth) -> String {
        var text: String
        if let total = state.total {
            let digits = String(total).count
            let step = String(state.step)
            text = String(repeating: " ", count: max(0, digits - step.count)) + step + "/\(total) "
            text += bar(step: state.finished ? total : state.step, total: total, width: barWidth)
        } else {
            text = "\(state.step)/Unknown"
        }
        if state.finished {
            // Keras' closing line shows whole seconds, however long the epoch took.
            text += " - " + (state.elapsed.isFinite ? String(format: "%.0fs", max(0, state.elapsed)) : "?")
        } else if let total = state.total, state.step > 0, state.elapsed > 0 {
            let eta = state.elapsed / Double(state.step) * Double(max(0, total - state.step))
            text += " - ETA: " + duration(eta)
        }
        if state.elapsed > 0, state.samples > 0 {
            let rate = Double(state.samples) / state.elapsed
            text += " - \(rate.isFinite ? String(Int(rate.rounded())) : "?") samples/s"
        }
        for metric in state.metrics {
            text += " - \(metric.name): " + metricValue(metric.value)
        }
        return text
    }
}

/// A live, single-line progress bar redrawn in place with `\r`, like Keras' progbar.
///
/// Live only on a terminal (by default: when standard error is one); otherwise it writes nothing and the
/// caller prints its own plain line at the end of the epoch (``finish(samples:metrics:)`` returns it).
/// Redraws are throttled to one per `minInterval` seconds, except the last step, which is always drawn.
/// The clock and the output sink are injectable for tests.
final class ProgressBar {
    typealias Clock = () -> Double
    typealias Sink = (String) -> Void

    let total: Int?
    let isLive: Bool
    let barWidth: Int
    let minInterval: Double
    private let clock: Clock
    private let sink: Sink
    private let start: Double
    private var lastDraw: Double?
    private var lastWidth = 0
    private(set) var state: ProgressState

    init(
        total: Int?, live: Bool = ProgressBar.isTerminal(STDERR_FILENO), barWidth: Int = ProgressFormat.defaultBarWidth,
        minInterval: Double = 0.1, clock: @escaping Clock = ProgressBar.monotonicSeconds,
        sink: @escaping Sink = ProgressBar.standardError
    ) {
        self.total = total
        self.isLive = live
        self.barWidth = barWidth
        self.minInterval = minInterval
        self.clock = clock
        self.sink = sink
        start = clock()
        state = ProgressState(step: 0, total: total, elapsed: 0, samples: 0, metrics: [])
    }

    /// Records progress after `step` steps and `samples` samples; redraws when live and not throttled.
    func update(step: Int, samples: Int, metrics: [ProgressMetric] = []) {
        let now = clock()
        state = ProgressState(step: step, total: total, elapsed: now - start, samples: samples, metrics: metrics)
        guard isLive else { return }
        let isLast = total.map { step >= $0 } ?? false
        if let lastDraw, now - lastDraw < minInterval, !isLast { return }
        lastDraw = now
        draw(ProgressFormat.line(state, barWidth: barWidth))
    }

    /// Closes the bar: when live, draws the final line (elapsed time, full bar) and ends it with a newline.
    /// Returns that final line either way, for callers that print plain lines when not on a terminal.
    @discardableResult
    func finish(samples: Int? = nil, metrics: [ProgressMetric]? = nil) -> String {
        state.elapsed = clock() - start
        if let samples { state.samples = samples }
        if let metrics { state.metrics = metrics }
        if let total { state.step = max(state.step, total) }
        state.finished = true
        let line = ProgressFormat.line(state, barWidth: barWidth)
        if isLive {
            draw(line)
            sink("\n")
            lastWidth = 0
        }
        return line
    }

    /// `\r` + the line, padded with spaces to wipe a longer previous line.
    private func draw(_ line: String) {
        let width = line.count
        sink("\r" + line + String(repeating: " ", count: max(0, lastWidth - width)))
        lastWidth = width
    }

    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) != 0 }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    static func standardError(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { return }
            offset += n
        }
    }
}
