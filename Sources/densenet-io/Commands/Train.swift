import ArgumentParser
import Datasets
import DenseNetEngine
import Foundation
import KerasFormat
import MPICollective
import TrainingRecords

/// `densenet-io train`: the tutorial's training loop, printing its line per epoch.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the tutorial DenseNet on an MNIST-format folder (Fashion-MNIST by default).",
        discussion: """
            Prints the tutorial's line per epoch: `Epoch 1, Loss: …, Accuracy: …, Test Loss: …, Test Accuracy: …`, \
            and on a terminal a live progress bar. The same seed on the same machine gives a bit-identical run.
            Records as Keras' callbacks write them: --csv (CSVLogger), --history (History as JSON), --tensorboard \
            (TensorBoard's train/ and validation/ event files); a resumed run continues them without repeating an epoch.
            Ctrl-C or SIGTERM finishes the current step, writes the checkpoint and exits 130 or 143; a second one exits at once.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(
        help: "A folder with the four MNIST-format IDX files (raw or .gz; images N×H×W, or N×H×W×C for colour).",
        completion: .directory)
    var data = MNISTFolder.defaultPath

    @Option(help: "Number of epochs.")
    var epochs = 10

    @Option(help: "Samples per training step; the last partial batch is kept (default: 32, or the checkpoint's).")
    var batchSize: Int?

    @Option(help: "Seeds the initial weights and each epoch's shuffle (default: 0, or the checkpoint's).")
    var seed: UInt64?

    @OptionGroup(title: "Optimizer") var optimizerOptions: OptimizerOptions

    @Option(help: "Train on the first N training images only.")
    var limit: Int?

    @Option(help: "Evaluate on the first N test images only.")
    var testLimit: Int?

    @Option(help: "Write the trained weights here when done, in the format its name says (\(weightFileEndings)).", completion: .file())
    var save: String?

    @Option(
        help: ArgumentHelp(
            "Write a training checkpoint here at each epoch end (.h5: tf-keras full-model file, .keras: Keras 3 archive).",
            valueName: "file"), completion: .file())
    var checkpoint: String?

    @Option(help: ArgumentHelp("Also write the checkpoint every N training steps.", valueName: "n"))
    var checkpointEvery: Int?

    @Option(
        help: ArgumentHelp(
            "Continue the run saved in this checkpoint, mid-epoch included, up to --epochs (and keep checkpointing to it unless --checkpoint says otherwise).",
            valueName: "file"), completion: .file())
    var resume: String?

    @Option(
        help: ArgumentHelp(
            "Stop after N training steps in this process, writing the checkpoint first (resume with --resume).",
            valueName: "n"))
    var stopAfter: Int?

    @Option(
        help: ArgumentHelp("Log each epoch's loss and accuracy here, as Keras' CSVLogger does.", valueName: "file.csv"), completion: .file()
    )
    var csv: String?

    @Option(
        help: ArgumentHelp("Write the run's history (Keras' History.history, with epochs) here as JSON.", valueName: "file.json"),
        completion: .file())
    var history: String?

    @Option(
        help: ArgumentHelp(
            "Write TensorBoard event files here (train/ and validation/, as Keras' TensorBoard callback).",
            valueName: "dir"), completion: .directory)
    var tensorboard: String?

    @Flag(
        help:
            "Join the MPI world (implied when mpirun started the process): train one model on every rank, each on its share of every batch."
    )
    var distributed = false

    @Option(help: EngineConfiguration.Summation.help)
    var sums: EngineConfiguration.Summation?

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let checkpoint, ![.kerasArchive, .tfKerasWeights].contains(WeightFileFormat(fileName: checkpoint)) {
            throw ValidationError("--checkpoint needs a .h5 (tf-keras full model) or .keras (Keras 3 archive) file name, got \(checkpoint)")
        }
        if let checkpointEvery, checkpointEvery < 1 { throw ValidationError("--checkpoint-every must be at least 1") }
        if let stopAfter, stopAfter < 1 { throw ValidationError("--stop-after must be at least 1") }
        if checkpointEvery != nil || stopAfter != nil, checkpoint == nil, resume == nil {
            throw ValidationError("--checkpoint-every and --stop-after need --checkpoint (or --resume)")
        }
        if case let .file(path) = optimizerOptions.optimizer {
            throw ValidationError(
                "train takes an optimizer by name (\(OptimizerArgument.allValueStrings.joined(separator: ", "))), got \(path); a file's optimizer state comes in with import"
            )
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if let testLimit, testLimit < 1 { throw ValidationError("--test-limit must be at least 1") }
        if let save, WeightFileFormat(fileName: save)?.holdsWeights != true {
            throw ValidationError("--save needs a file name ending in \(weightFileEndings), got \(save)")
        }
        try checkOutputFolders(save, checkpoint, csv, history)
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        if distributed || MPIWorld.launchedByMPI(environment: environment) {
            try runAsRank(environment: environment) { world, parallel in try train(in: world, parallel: parallel) }
        } else {
            try train(in: SingleProcess(), parallel: .automatic())
        }
    }

    /// What training starts from: the data, the run it belongs to and the trainer (fresh or resumed).
    private struct Start {
        let train, test: LabeledImages
        let run: RunDescription
        let description: ModelDescription
        let trainer: Trainer
    }

    /// Reads the data and the checkpoint and builds the trainer; nothing is written.
    private func prepare(collective: any Collective, parallel: Parallel) throws -> Start {
        try refuseOverwriting(resume, with: save)
        let folder = MNISTFolder(data)
        let resumed = try resume.map(WeightFile.init)
        let saved = try resumed.map(checkpointInfo)
        let trainLimit = limit ?? saved?.run.trainLimit
        let train = try folder.load(.train, limit: trainLimit)
        let test = try folder.load(.test, limit: testLimit ?? saved?.run.testLimit)
        let run = RunDescription(
            batchSize: batchSize ?? saved?.run.batchSize ?? 32, trainData: DataFingerprint(train),
            trainLimit: trainLimit, testLimit: testLimit ?? saved?.run.testLimit)
        var engineConfiguration = EngineConfiguration(environment: ProcessInfo.processInfo.environment)
        engineConfiguration.summation = .chosen(sums, distributed: !(collective is SingleProcess))
        if let resume, let resumed, let saved {
            // Everything is checked before the first step; the checkpoint is not touched until then.
            if let problem = run.mismatch(resuming: saved.run) { throw ResumeRefusal("cannot resume \(resume): \(problem)") }
            if let seed, seed != saved.shuffleSeed {
                throw ResumeRefusal("cannot resume \(resume): --seed \(seed), but the checkpoint's run uses seed \(saved.shuffleSeed)")
            }
            let chosen = (
                modelOptions.model, modelOptions.inputShape ?? saved.model.inputShape, modelOptions.classes ?? saved.model.classes
            )
            let savedName = saved.model.preset ?? "Keras model_config"
            if (modelOptions.modelName != nil && chosen.0 != savedName) || chosen.1 != saved.model.inputShape
                || chosen.2 != saved.model.classes
            {
                throw ResumeRefusal(
                    "cannot resume \(resume): the checkpoint is a \(savedName) model for input \(saved.model.inputShape) and \(saved.model.classes) classes, not \(chosen.0) for \(chosen.1) and \(chosen.2)"
                )
            }
            if optimizerOptions.optimizer != nil || optimizerOptions.setsHyperparameters {
                let chosen = try optimizerOptions.config(fallback: saved.optimizer)
                guard chosen == saved.optimizer else {
                    throw ResumeRefusal(
                        "cannot resume \(resume): the checkpoint trains with \(saved.optimizer.keras3Description["config"] ?? .null) of \(saved.optimizer.kerasClassName), not \(chosen.keras3Description["config"] ?? .null) of \(chosen.kerasClassName)"
                    )
                }
            }
            let model = try saved.model.build(parallel: parallel)
            model.configuration = engineConfiguration
            model.collective = collective
            let trainer = try Trainer(
                model: model, optimizer: saved.optimizer, batchSize: saved.run.batchSize, shuffleSeed: saved.shuffleSeed,
                lossAveraging: saved.run.lossAveraging)
            try TrainingCheckpoint.load(resumed, into: trainer)
            return Start(train: train, test: test, run: run, description: saved.model, trainer: trainer)
        }
        let seed = seed ?? 0
        let model = try modelOptions.build(seed: seed, parallel: parallel)
        model.configuration = engineConfiguration
        model.collective = collective
        let description = ModelDescription(
            preset: modelOptions.model, inputShape: model.inputShape, classes: model.outputShape.last ?? 0,
            weightSeed: seed)
        let trainer = try Trainer(
            model: model, optimizer: try optimizerOptions.config(), batchSize: run.batchSize, shuffleSeed: seed)
        return Start(train: train, test: test, run: run, description: description, trainer: trainer)
    }

    /// The training loop on one process, or on one rank of `collective` (which then trains its
    /// share of each batch; only rank 0 writes files).
    private func train(in collective: any Collective, parallel: Parallel) throws {
        let start = try collective.together { try prepare(collective: collective, parallel: parallel) }
        let (train, test, run, trainer) = (start.train, start.test, start.run, start.trainer)
        if collective.size > 1 {
            try collective.requireAgreement(
                on: runFingerprint(
                    arguments: Array(CommandLine.arguments.dropFirst()),
                    data: ["\(run.trainData)", "\(DataFingerprint(test))"]))
        }
        let writes = collective.rank == 0
        let model = trainer.model
        let checkpointPath = checkpoint ?? resume
        let resumedEpoch = resume == nil ? nil : trainer.epoch
        var records: [any EpochLog] = []
        if writes {
            if let csv { records.append(try CSVLog(path: csv, resumingAt: resumedEpoch)) }
            if let history { records.append(try HistoryLog(path: history, resumingAt: resumedEpoch)) }
            if let tensorboard { records.append(try TensorBoardLog(directory: tensorboard, resumingAt: resumedEpoch)) }
        }
        let interruption = Interruption()
        func writeCheckpoint() throws {
            if writes, let checkpointPath {
                try TrainingCheckpoint.write(trainer, model: start.description, run: run, to: checkpointPath)
            }
        }
        let steps = trainer.stepsPerEpoch(samples: train.count)
        var stepsTaken = 0
        var stopped = false
        var signal: Int32?
        while trainer.epoch < epochs, !stopped {
            let progress = ProgressBar(total: steps, live: writes && ProgressBar.isTerminal(STDERR_FILENO))
            var samples = trainer.stepInEpoch * run.batchSize
            var failure: Error?
            let result = try trainer.trainEpoch(
                train,
                onStep: { event in
                    samples += event.batchSize
                    progress.update(
                        step: event.step, samples: samples,
                        metrics: [
                            ProgressMetric("loss", event.metrics.meanLoss), ProgressMetric("accuracy", event.metrics.accuracy)
                        ])
                    stepsTaken += 1
                    if let stopAfter, stepsTaken >= stopAfter { stopped = true }
                    signal = collective.firstSignal(interruption.received)
                    if signal != nil { stopped = true }
                    // Mid-epoch checkpoints only: the epoch's last step is saved once the epoch is closed.
                    if event.step < event.stepsPerEpoch, stopped || checkpointEvery.map({ stepsTaken % $0 == 0 }) == true {
                        do { try writeCheckpoint() } catch { failure = error; return .stop }
                    }
                    return stopped ? .stop : .continue
                })
            if let failure { throw failure }
            guard let result else { break }
            progress.finish()
            let evaluation = try trainer.evaluate(test)
            do { try model.checkWeightsAgree() } catch { throw WorldFailure("\(error) at the end of epoch \(result.epoch + 1)") }
            print(
                EpochLine(
                    epoch: result.epoch + 1, loss: result.loss, accuracy: result.accuracy,
                    testLoss: evaluation.loss, testAccuracy: evaluation.accuracy))
            fflush(nil)  // one line per epoch, also when standard output is a file or a pipe
            try writeCheckpoint()
            let record = EpochRecord(
                epoch: result.epoch, loss: result.loss, accuracy: result.accuracy, validationLoss: evaluation.loss,
                validationAccuracy: evaluation.accuracy, learningRate: Double(Float(trainer.optimizer.config.learningRate)),
                iterations: Int(trainer.optimizer.iterations))
            for index in records.indices { try records[index].append(record) }
        }
        if let signal {
            print(
                "\(Interruption.name(signal).capitalizedFirst) at epoch \(trainer.epoch + 1), step \(trainer.stepInEpoch) of \(steps)"
                    + (checkpointPath.map { "; checkpoint written, resume with --resume \($0)" }
                        ?? "; no checkpoint (pass --checkpoint to resume runs)"))
            throw ExitCode(Interruption.exitStatus(signal))
        }
        if stopped, trainer.epoch < epochs {
            print(
                "Stopped at epoch \(trainer.epoch + 1), step \(trainer.stepInEpoch) of \(steps)"
                    + (checkpointPath.map { "; resume with --resume \($0)" } ?? ""))
        } else if let resume, stepsTaken == 0 {
            print("Nothing to do: \(resume) is at epoch \(trainer.epoch) of \(epochs)")
        }
        if writes, let save, let format = WeightFileFormat(fileName: save) {
            try model.saveWeights(to: save, format: format)
            print("Saved \(format.name) weights to \(save)")
        }
    }
}

/// The tutorial's per-epoch line; values print as the tutorial's float32 metrics do.
struct EpochLine: CustomStringConvertible {
    let epoch: Int
    let loss, accuracy, testLoss, testAccuracy: Double

    var description: String {
        func value(_ x: Double) -> String { "\(Double(Float(x)))" }
        return "Epoch \(epoch), Loss: \(value(loss)), Accuracy: \(value(accuracy * 100)), "
            + "Test Loss: \(value(testLoss)), Test Accuracy: \(value(testAccuracy * 100))"
    }
}

extension String {
    /// The text with its first letter in upper case (a message fragment starting a sentence).
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}

/// The checkpoint `file`'s training state; a Keras file that is no densenet-io checkpoint is
/// refused with the command that makes one of it.
func checkpointInfo(_ file: WeightFile) throws -> CheckpointInfo {
    do {
        return try TrainingCheckpoint.readInfo(file)
    } catch let error as KerasFormatError where error.reason == .wrongFormat && error.layer != "optimizer" {
        throw ResumeRefusal(
            "cannot resume \(file.path): it is a \(file.format.description) file, not a densenet-io checkpoint; make one with: "
                + "densenet-io import \(file.path) CHECKPOINT.h5 (its weights\(file.format.holdsOptimizerState ? " and optimizer state" : "") come along)"
        )
    }
}

/// A resume that does not fit the checkpoint; reported as one line, exit status 2.
struct ResumeRefusal: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
