import ArgumentParser
import DenseNetEngine
import Foundation
import KerasFormat
import MPICollective

/// `densenet-io bench`: training and inference throughput, batch-1 latency, GFLOP/s, peak RSS and
/// weight save/load times. The measuring lives in DenseNetEngine (`ModelBenchmark`, `Clock`).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure training/inference speed, memory and weight save/load times on synthetic data.",
        discussion: """
            Each figure is the median of --repeats timed runs after an untimed warm-up, with the spread \
            (min–max). Samples/s are given by wall clock and by process CPU time (user + system, all \
            threads; on a loaded machine the CPU figure is the steadier one). For A/B runs DENSENET_IO_CONV=blas \
            forces im2col + OpenBLAS for every convolution, DENSENET_IO_SIMD=portable the Swift SIMD kernels (avx2: AVX2 where AVX-512 exists), \
            DENSENET_IO_WINOGRAD=0 direct inference and DENSENET_IO_DIRECT_MAX_COUT=n the direct/BLAS threshold. \
            Under mpirun (or with --distributed) every rank trains its share of each --batch-size batch and \
            rank 0 reports the world's training samples/s and the time spent in reductions (training only).
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Samples per step.")
    var batchSize = 32

    @Option(help: "Steps per timed run.")
    var steps = 100

    @Option(help: "Timed runs per figure.")
    var repeats = 5

    @Option(
        help: ArgumentHelp(
            "Training samples held in memory.",
            discussion:
                "Default: Fashion-MNIST's 60 000, as in a real epoch, or as many as 1 GiB of float32 images holds for larger inputs (1 783 at 224×224×3)."
        ))
    var datasetSize: Int?

    @Option(
        help: ArgumentHelp(
            "The machine's fp32 peak, GFLOP/s, that shares of peak divide by.",
            discussion:
                "Default: measured at the start, the fastest one-core rate of fused multiply-add chains on the widest vectors the CPU has times the workers."
        ))
    var peakGflops: Double?

    @Flag(
        help:
            "Also report where the time goes by kind of layer (1×1 and 3×3 convolutions, batch normalization, …), with each convolution kind's GFLOP/s."
    )
    var profile = false

    @Flag(help: "Skip the training measurement (and report the RSS of inference only).")
    var noTraining = false

    @Option(help: "Also time loading DenseNet-121 weights from a tf-keras .h5 (model name; '' to skip).")
    var loadModel = "densenet121"

    @Option(help: "Also time loading this existing weights file (e.g. one tf-keras wrote) into --load-model.", completion: .file())
    var loadFile: String?

    @Option(help: "Classes of --load-model's classifier for --load-file.")
    var loadClasses = 1000

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Flag(help: "Join the MPI world (implied when mpirun started the process) and measure data-parallel training.")
    var distributed = false

    @Option(help: EngineConfiguration.Summation.help)
    var sums: EngineConfiguration.Summation?

    func validate() throws {
        guard batchSize >= 1, steps >= 1, repeats >= 1, datasetSize ?? 1 >= 1 else {
            throw ValidationError("--batch-size, --steps, --repeats and --dataset-size must be at least 1")
        }
    }

    /// `--dataset-size`, or its default for `model`'s input; refused when the images alone would
    /// take more than half of this machine's memory.
    private func samplesInMemory(for model: Model) throws -> Int {
        let bytesPerSample = model.inputSize * MemoryLayout<Float>.size
        guard let datasetSize else { return Swift.max(batchSize, Swift.min(60_000, (1 << 30) / bytesPerSample)) }
        let memory = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
        guard datasetSize <= memory / 2 / bytesPerSample else {
            let gigabytes = Double(datasetSize) * Double(bytesPerSample) / Double(1 << 30)
            throw ValidationError(
                "--dataset-size \(datasetSize) of \(model.inputShape) images takes \(String(format: "%.1f", gigabytes)) GiB, more than half of this machine's memory"
            )
        }
        return datasetSize
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        if distributed || MPIWorld.launchedByMPI(environment: environment) {
            try runAsRank(environment: environment) { world, parallel in try benchDataParallel(in: world, parallel: parallel) }
            return
        }
        let model = try modelOptions.build(seed: 0)
        var report = describe(model, collective: SingleProcess())
        let peak = peakGflops ?? model.parallel.measuredPeakGFLOPS()
        report["peak_gflops"] = peak
        report["peak_gflops_measured"] = peakGflops == nil
        if !noTraining {
            report["training"] = try trainingRates(model, peak: peak)
            report["peak_rss_training_bytes"] = Clock.peakRSS()
        }
        let flops = Double(model.forwardFLOPsPerSample)
        let inf = ModelBenchmark.inference(model: model, batchSize: batchSize, steps: steps, repeats: repeats)
        var ri = rates(inf)
        ri["gflops"] = (ri["samples_per_s"] as! Double) * flops / 1e9
        ri["share_of_peak"] = (ri["gflops"] as! Double) / peak
        report["inference"] = ri
        if profile {
            for training in noTraining ? [false] : [false, true] {
                let entries = try ModelBenchmark.profile(
                    model: model, batchSize: batchSize, steps: steps, training: training,
                    datasetSize: try samplesInMemory(for: model))
                report[training ? "profile_training" : "profile_inference"] = profileRows(entries, peak: peak)
            }
        }
        let lat = Spread(ModelBenchmark.latency(model: model, calls: Swift.max(50, 20 * repeats)))
        report["latency_batch1_ms"] = ["median": lat.median * 1e3, "min": lat.min * 1e3, "max": lat.max * 1e3]
        report["peak_rss_bytes"] = Clock.peakRSS()

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("densenet-io-bench-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        report["weights"] = try weightTimes(model, name: modelOptions.model, dir: dir)
        if !loadModel.isEmpty, loadModel != modelOptions.model, (try? ModelPreset.named(loadModel)) != nil {
            let big = try ModelPreset.named(loadModel).build(seed: 0)
            report["weights_\(loadModel)"] = try weightTimes(big, name: loadModel, dir: dir)
        }
        if let loadFile {
            let model = try ModelPreset.named(loadModel).build(classes: loadClasses, seed: 0)
            report["weights_file"] = try loadTimes(model, path: loadFile)
        }

        try output(report)
    }

    /// Training on every rank of `world`, each on its share of every batch: the world's samples/s
    /// and the seconds spent in reductions (rank 0 prints).
    private func benchDataParallel(in world: MPIWorld, parallel: Parallel) throws {
        let model = try modelOptions.build(seed: 0, parallel: parallel)
        model.collective = world
        var report = describe(model, collective: world)
        // the ranks share the machine: its peak, as this rank's workers reach it alone
        let peak = peakGflops ?? parallel.measuredPeakGFLOPS()
        report["peak_gflops"] = peak
        report["peak_gflops_measured"] = peakGflops == nil
        report["training"] = try trainingRates(model, peak: peak) { world.communicationSeconds }
        try output(report)
    }

    /// The run's settings; sets the model's configuration (the environment's switches and `--sums`).
    private func describe(_ model: Model, collective: any Collective) -> [String: Any] {
        var configuration = EngineConfiguration(environment: ProcessInfo.processInfo.environment)
        configuration.summation = .chosen(sums, distributed: !(collective is SingleProcess))
        model.configuration = configuration
        return [
            "model": modelOptions.model, "batch_size": batchSize, "steps": steps, "repeats": repeats,
            "workers": model.parallel.workers, "ranks": collective.size, "sums": configuration.summation.rawValue,
            "forward_mflop_per_sample": Double(model.forwardFLOPsPerSample) / 1e6,
            "conv_path": configuration.convolutions.rawValue, "kernels": configuration.kernelsInUse,
            "openblas_core": BLAS.coreName
        ]
    }

    /// Samples/s (wall clock and CPU time) of `steps` steps of `batchSize` samples.
    private func rates(_ t: [Timing]) -> [String: Any] {
        let samples = Double(batchSize * steps)
        let wall = Spread(t.map { samples / $0.wall }), cpu = Spread(t.map { samples / $0.cpu })
        return [
            "samples_per_s": wall.median, "samples_per_s_min": wall.min, "samples_per_s_max": wall.max,
            "cpu_samples_per_s": cpu.median,
            "cpu_seconds_per_sample_median": Spread(t.map { $0.cpu / samples }).median
        ]
    }

    /// The training measurement: rates, GFLOP/s and, with a counter of reduction seconds, the
    /// median seconds per run spent in reductions and their share of the run.
    private func trainingRates(_ model: Model, peak: Double, reductionSeconds: (() -> Double)? = nil) throws -> [String: Any] {
        let t = try ModelBenchmark.training(
            model: model, batchSize: batchSize, steps: steps, repeats: repeats,
            datasetSize: try samplesInMemory(for: model),
            counter: reductionSeconds ?? { 0 })
        var r = rates(t)
        let gflops = (r["samples_per_s"] as! Double) * 3 * Double(model.forwardFLOPsPerSample) / 1e9  // forward + both gradients
        r["gflops"] = gflops
        r["share_of_peak"] = gflops / peak
        if reductionSeconds != nil {
            r["reduction_s_per_run"] = Spread(t.map(\.counted)).median
            r["reduction_share"] = Spread(t.map { $0.counted / $0.wall }).median
        }
        return r
    }

    /// The profile as report rows: kind, milliseconds per step, share of the total, and for kinds
    /// with multiply-adds their GFLOP/s and share of `peak`.
    private func profileRows(_ entries: [(kind: String, entry: LayerKindProfile.Entry)], peak: Double) -> [[String: Any]] {
        let total = entries.reduce(0) { $0 + $1.entry.seconds }
        return entries.map { kind, e in
            var row: [String: Any] = [
                "kind": kind, "ms_per_step": e.seconds / Double(steps) * 1e3, "share": total > 0 ? e.seconds / total : 0
            ]
            if e.flops > 0, e.seconds > 0 {
                row["gflops"] = Double(e.flops) / e.seconds / 1e9
                row["share_of_peak"] = Double(e.flops) / e.seconds / 1e9 / peak
            }
            return row
        }
    }

    private func output(_ report: [String: Any]) throws {
        if json {
            print(try jsonValue(report).description)
        } else {
            printText(report)
        }
    }

    /// The report as JSON, keys sorted.
    private func jsonValue(_ value: Any) throws -> JSON {
        switch value {
        case let dictionary as [String: Any]:
            return .object(try dictionary.sorted { $0.key < $1.key }.map { ($0.key, try jsonValue($0.value)) })
        case let rows as [[String: Any]]: return .array(try rows.map(jsonValue))
        case let text as String: return .string(text)
        case let flag as Bool: return .bool(flag)
        case let integer as Int: return .int(integer)
        case let number as Double: return .double(number)
        default: throw ValidationError("bench report value \(value) has no JSON form")
        }
    }

    /// Save (tf-keras .h5) and load times, and the time to read the file's bytes.
    private func weightTimes(_ model: Model, name: String, dir: URL) throws -> [String: Any] {
        let path = dir.appendingPathComponent("\(name).h5").path
        let save = Spread(
            try Clock.measure(warmup: 1, repeats: repeats) { try model.saveWeights(to: path, format: .tfKerasWeights) }.map(\.wall))
        return try loadTimes(model, path: path).merging(["save_ms": save.median * 1e3]) { $1 }
    }

    /// Load times of `path` into `model` and times to read the file's bytes (wall and process CPU),
    /// alternating so both see the same machine load.
    private func loadTimes(_ model: Model, path: String) throws -> [String: Any] {
        let load = { _ = try model.loadWeights(from: path) }
        let read = { _ = try Data(contentsOf: URL(fileURLWithPath: path)) }
        try load()
        try read()
        var loads: [Timing] = [], reads: [Timing] = []
        for _ in 0..<repeats {
            loads += try Clock.measure(warmup: 0, repeats: 1, load)
            reads += try Clock.measure(warmup: 0, repeats: 1, read)
        }
        let loadWall = Spread(loads.map(\.wall)), readWall = Spread(reads.map(\.wall))
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        return [
            "file_bytes": size, "load_ms": loadWall.median * 1e3, "load_ms_min": loadWall.min * 1e3,
            "load_ms_max": loadWall.max * 1e3, "read_bytes_ms": readWall.median * 1e3,
            "load_cpu_ms": Spread(loads.map(\.cpu)).median * 1e3, "read_bytes_cpu_ms": Spread(reads.map(\.cpu)).median * 1e3,
            "load_over_read": readWall.median > 0 ? loadWall.median / readWall.median : 0
        ]
    }

    private func printText(_ r: [String: Any]) {
        func f(_ x: Any?, _ d: Int = 1) -> String { String(format: "%.\(d)f", (x as? Double) ?? 0) }
        print(
            "model \(r["model"]!)  batch \(batchSize)  steps \(steps) x \(repeats) runs  ranks \(r["ranks"]!)  workers \(r["workers"]!)  conv \(r["conv_path"]!)  kernels \(r["kernels"]!)  openblas \(r["openblas_core"]!)  sums \(r["sums"]!)"
        )
        print(
            "forward \(f(r["forward_mflop_per_sample"], 2)) MFLOP/sample; peak \(f(r["peak_gflops"])) GFLOP/s"
                + ((r["peak_gflops_measured"] as? Bool) == true ? " (measured: one core's FMA chains × workers)" : ""))
        if let t = r["training"] as? [String: Any] {
            print(
                "training   \(f(t["samples_per_s"])) samples/s (min \(f(t["samples_per_s_min"])), max \(f(t["samples_per_s_max"]))), "
                    + "\(f(t["cpu_samples_per_s"])) samples per CPU-second (all threads); \(f(t["gflops"])) GFLOP/s = \(f((t["share_of_peak"] as? Double).map { $0 * 100 }))% of peak"
            )
            if let seconds = t["reduction_s_per_run"] {
                print(
                    "reductions \(f(seconds, 3)) s per run of \(steps) steps (\(f((t["reduction_share"] as? Double).map { $0 * 100 }))% of the wall clock, waiting for the other ranks included)"
                )
            }
            if let rss = r["peak_rss_training_bytes"] as? Int { print("peak RSS (training) \(f(Double(rss) / 1_048_576)) MiB") }
        }
        if let t = r["inference"] as? [String: Any] {
            print(
                "inference  \(f(t["samples_per_s"])) samples/s (min \(f(t["samples_per_s_min"])), max \(f(t["samples_per_s_max"]))), "
                    + "by CPU time \(f(t["cpu_samples_per_s"])); \(f(t["gflops"])) GFLOP/s = \(f((t["share_of_peak"] as? Double).map { $0 * 100 }))% of peak"
            )
        }
        if let l = r["latency_batch1_ms"] as? [String: Any] {
            print("latency    batch 1: \(f(l["median"], 3)) ms (min \(f(l["min"], 3)), max \(f(l["max"], 3)))")
        }
        for key in ["profile_inference", "profile_training"] {
            guard let rows = r[key] as? [[String: Any]] else { continue }
            print("\(key == "profile_training" ? "training" : "inference") by kind of layer (ms per step, share; GFLOP/s, share of peak):")
            for row in rows {
                let speed =
                    row["gflops"].map { "  \(f($0)) GFLOP/s = \(f((row["share_of_peak"] as? Double).map { $0 * 100 }))% of peak" } ?? ""
                print(
                    "  \(row["kind"]!): \(f(row["ms_per_step"], 2)) ms, \(f((row["share"] as? Double).map { $0 * 100 }))%" + speed)
            }
        }
        for (k, v) in r.sorted(by: { $0.key < $1.key }) where k.hasPrefix("weights") {
            guard let w = v as? [String: Any] else { continue }
            print(
                "\(k): file \(w["file_bytes"]!) bytes, save \(w["save_ms"] == nil ? "-" : f(w["save_ms"], 2)) ms, load \(f(w["load_ms"], 2)) ms, "
                    + "read bytes \(f(w["read_bytes_ms"], 2)) ms (load/read \(f(w["load_over_read"], 2))x; "
                    + "CPU: load \(f(w["load_cpu_ms"], 2)) ms, read \(f(w["read_bytes_cpu_ms"], 2)) ms)")
        }
    }
}
