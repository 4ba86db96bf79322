// Measurement helpers for `densenet-io bench`: wall and CPU time of repeated runs (warm-up excluded),
// median and spread, model FLOP counts, peak RSS. No speed claims live in tests; this is the judge.

import CKernels
import Glibc

/// Median, min and max of a repeated measurement (seconds or any unit).
public struct Spread: Sendable, Codable {
    /// The middle value (the mean of the two middle ones for an even count); 0 for no values.
    public let median: Double
    /// The smallest value; 0 for no values.
    public let min: Double
    /// The largest value; 0 for no values.
    public let max: Double
    /// The spread of `values`, in any order.
    public init(_ values: [Double]) {
        let s = values.sorted()
        median = s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
        min = s.first ?? 0
        max = s.last ?? 0
    }
    /// (max - min) / median, as a fraction.
    public var relativeSpread: Double { median > 0 ? (max - min) / median : 0 }
}

/// One timed repetition: wall-clock and process CPU time (user + system, all threads).
public struct Timing: Sendable {
    /// Elapsed monotonic time, seconds.
    public let wall: Double
    /// Process CPU time, seconds: above `wall` when several threads worked.
    public let cpu: Double
    /// What the measurement's counter advanced by (e.g. seconds spent in reductions with the other
    /// processes of a data-parallel run); 0 without a counter.
    public let counted: Double
}

/// The clocks the benchmarks read: monotonic wall time and the process' CPU time.
public enum Clock {
    /// Monotonic wall clock, seconds.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Process CPU time (user + system, all threads), seconds.
    public static func cpu() -> Double {
        var r = rusage()
        getrusage(RUSAGE_SELF.rawValue, &r)
        return Double(r.ru_utime.tv_sec) + Double(r.ru_utime.tv_usec) * 1e-6
            + Double(r.ru_stime.tv_sec) + Double(r.ru_stime.tv_usec) * 1e-6
    }

    /// Peak resident set size of this process so far, bytes.
    public static func peakRSS() -> Int {
        var r = rusage()
        getrusage(RUSAGE_SELF.rawValue, &r)
        return Int(r.ru_maxrss) * 1024
    }

    /// Runs `body` `warmup` times untimed, then `repeats` times timed, reading `counter` before and
    /// after each timed run.
    public static func measure(
        warmup: Int = 1, repeats: Int, counter: () -> Double = { 0 }, _ body: () throws -> Void
    ) rethrows -> [Timing] {
        for _ in 0..<warmup { try body() }
        var out: [Timing] = []
        for _ in 0..<repeats {
            let w0 = now(), c0 = cpu(), n0 = counter()
            try body()
            out.append(Timing(wall: now() - w0, cpu: cpu() - c0, counted: counter() - n0))
        }
        return out
    }
}

extension Model {
    /// Multiply-add FLOPs (2 per MAC) of one sample's forward pass through the convolutions and
    /// dense layers (the op-by-op graph; elementwise ops, BN and pooling are not counted).
    public var forwardFLOPsPerSample: Int {
        let g = GraphBuilder(seed: 0)
        let x = g.input(shape: inputShape)
        guard (try? root.call([x], in: g)) != nil else { return 0 }
        var total = 0
        for n in g.nodes {
            guard let op = n.op else { continue }
            if let c = op as? Conv2D, let k = c.kernel {
                total += 2 * product(n.shape) * k.shape[0] * k.shape[1] * k.shape[2]
            } else if let d = op as? Dense, let k = d.kernel {
                total += 2 * k.count
            }
        }
        return total
    }
}

extension Parallel {
    /// The machine's fp32 peak in GFLOP/s for these workers: the fastest one-core rate of
    /// independent fused multiply-add chains on the widest vectors the CPU has, times the workers.
    /// Each chain run is timed on its own core, so a worker that starts late or a core another
    /// process holds for a moment lowers a run, never the result; the best of `rounds` rounds on
    /// every worker. 0 without FMA.
    public func measuredPeakGFLOPS(rounds: Int = 7) -> Double {
        let rates = UnsafeMutablePointer<Double>.allocate(capacity: rounds * workers)
        defer { rates.deallocate() }
        forEachPiece(rounds * workers) { p, _ in
            var sink: Float = 0
            let start = Clock.now()
            let flops = ckernels_fma_chains(1 << 20, &sink)
            rates[p] = Double(flops) / (Clock.now() - start) / 1e9
        }
        return (0..<(rounds * workers)).map { rates[$0] }.max()! * Double(workers)
    }
}

/// Throughput runs on synthetic data (uniform [0, 1) pixels, labels i mod classes).
public enum ModelBenchmark {
    /// `repeats` timed runs of `steps` training steps (Trainer: shuffle-gather, forward, loss,
    /// backward, Adam) after one untimed warm-up run. `datasetSize` samples are held in memory,
    /// as a real epoch would (60 000 for Fashion-MNIST). With a `model.collective` of several
    /// processes each trains its share of every `batchSize` batch, and `counter` (e.g. the seconds
    /// spent in reductions) is read around each timed run.
    public static func training(
        model: Model, batchSize: Int, steps: Int, repeats: Int, datasetSize: Int, counter: () -> Double = { 0 }
    ) throws -> [Timing] {
        let (_, run) = try trainingSteps(model: model, batchSize: batchSize, steps: steps, datasetSize: datasetSize)
        return try Clock.measure(warmup: 1, repeats: repeats, counter: counter, run)
    }

    /// A trainer on synthetic data and a function that runs `steps` of its steps.
    private static func trainingSteps(
        model: Model, batchSize: Int, steps: Int, datasetSize: Int
    ) throws -> (Trainer, () throws -> Void) {
        let classes = model.outputShape.last ?? 1
        let n = Swift.max(datasetSize, batchSize)
        var rng = SplitMix64(seed: 42)
        var images = [Float](repeating: 0, count: n * model.inputSize)
        for i in images.indices { images[i] = rng.nextUnitFloat() }
        let data = try LabeledImages(images: images, labels: (0..<n).map { $0 % classes }, sampleShape: model.inputShape)
        let trainer = try Trainer(model: model, batchSize: batchSize)
        func run() throws {
            var done = 0
            while done < steps {
                _ = try trainer.trainEpoch(data) { _ in
                    done += 1
                    return done >= steps ? .stop : .continue
                }
            }
        }
        return (trainer, run)
    }

    /// Wall time by kind of layer over `steps` training steps (`training`) or inference passes of
    /// `batchSize` samples, after one unmeasured step; "rest" is the time outside the layers (loss,
    /// optimizer, batch gathering). Largest first.
    public static func profile(
        model: Model, batchSize: Int, steps: Int, training: Bool, datasetSize: Int
    ) throws -> [(kind: String, entry: LayerKindProfile.Entry)] {
        let profile: LayerKindProfile, run: () throws -> Void
        if training {
            let (trainer, steps) = try trainingSteps(model: model, batchSize: batchSize, steps: steps, datasetSize: datasetSize)
            profile = trainer.executor.profile
            run = steps
        } else {
            let ex = model.executor(capacity: batchSize)
            var rng = SplitMix64(seed: 7)
            for i in 0..<(batchSize * model.inputSize) { ex.outputs[model.inputID][i] = rng.nextUnitFloat() }
            profile = ex.profile
            run = { for _ in 0..<steps { ex.forward(batch: batchSize, mode: .inference) } }
        }
        try run()
        profile.reset()
        profile.enabled = true
        defer { profile.enabled = false }
        let start = Clock.now()
        try run()
        let total = Clock.now() - start
        var entries = profile.entries.map { (kind: $0.key, entry: $0.value) }
        let measured = entries.reduce(0) { $0 + $1.entry.seconds }
        entries.append((kind: "rest", entry: LayerKindProfile.Entry(seconds: Swift.max(0, total - measured))))
        return entries.sorted { $0.entry.seconds > $1.entry.seconds }
    }

    /// `repeats` timed runs of `steps` inference forward passes of `batchSize` samples.
    public static func inference(model: Model, batchSize: Int, steps: Int, repeats: Int) -> [Timing] {
        let ex = model.executor(capacity: batchSize)
        var rng = SplitMix64(seed: 7)
        let input = ex.outputs[model.inputID]
        for i in 0..<(batchSize * model.inputSize) { input[i] = rng.nextUnitFloat() }
        return Clock.measure(warmup: 1, repeats: repeats) {
            for _ in 0..<steps { ex.forward(batch: batchSize, mode: .inference) }
        }
    }

    /// Per-call latency (seconds) of a batch-1 inference forward pass, `calls` calls after 10 warm-ups.
    public static func latency(model: Model, calls: Int) -> [Double] {
        let ex = model.executor(capacity: 1)
        var rng = SplitMix64(seed: 9)
        let input = ex.outputs[model.inputID]
        for i in 0..<model.inputSize { input[i] = rng.nextUnitFloat() }
        for _ in 0..<10 { ex.forward(batch: 1, mode: .inference) }
        return (0..<calls).map { _ in
            let t0 = Clock.now()
            ex.forward(batch: 1, mode: .inference)
            return Clock.now() - t0
        }
    }
}
