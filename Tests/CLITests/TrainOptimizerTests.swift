import Foundation
import DenseNetEngine
import KerasFormat
import TestSupport
import Testing

/// `densenet-io train --optimizer / --learning-rate`.
@Suite struct TrainOptimizerTests {
    /// Every optimizer trains (one epoch line each), each one differently, and a learning rate changes the run.
    @Test func everyOptimizerTrainsItsOwnWay() throws {
        let w = try TrainWorkspace(trainCount: 16, testCount: 8)
        var lines: [String] = []
        for arguments in [
            ["--optimizer", "adam"], ["--optimizer", "adamw"], ["--optimizer", "sgd"], ["--optimizer", "rmsprop"],
            ["--optimizer", "sgd", "--learning-rate", "0.1"]
        ] {
            let result = try w.train(["--epochs", "1"] + arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            #expect(result.epochLines.count == 1, "\(arguments): \(result.stdout)")
            lines += result.epochLines
        }
        #expect(Set(lines).count == lines.count, "\(lines)")
        #expect(try w.train(["--epochs", "1"]).epochLines == [lines[0]])  // adam is the default
    }

    /// Checkpoints record the optimizer and its hyperparameters; a resumed run continues with them
    /// exactly and refuses another optimizer or other hyperparameters.
    @Test func checkpointsRecordTheOptimizerAndResumeRefusesAnother() throws {
        let w = try TrainWorkspace(trainCount: 16, testCount: 8)
        let checkpoint = w.path("c.h5")
        let first = try w.train(["--epochs", "1", "--learning-rate", "0.002", "--checkpoint", checkpoint])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try TrainingCheckpoint.readInfo(checkpoint).optimizer.learningRate == 0.002)
        let sgdArguments = ["--optimizer", "sgd", "--momentum", "0.9", "--nesterov"]
        let whole = try w.train(["--epochs", "2"] + sgdArguments)
        let sgd = try w.train(["--epochs", "1", "--checkpoint", w.path("s.keras")] + sgdArguments)
        #expect(sgd.status == 0, "\(sgd.stderr)")
        #expect(try TrainingCheckpoint.readInfo(w.path("s.keras")).optimizer == .sgd(SGDConfig(momentum: 0.9, nesterov: true)))
        let resumed = try w.train(["--epochs", "2", "--resume", w.path("s.keras")])
        #expect(resumed.epochLines == [whole.epochLines[1]], "\(resumed.stderr)")
        let refusedResume = try w.train(["--epochs", "2", "--resume", checkpoint, "--optimizer", "rmsprop"])
        #expect(refusedResume.status == 2 && refusedResume.stderr.contains("the checkpoint trains with"), "\(refusedResume.stderr)")
        let refusedRate = try w.train(["--epochs", "2", "--resume", checkpoint, "--learning-rate", "0.01"])
        #expect(refusedRate.status == 2 && refusedRate.stderr.contains("0.002"), "\(refusedRate.stderr)")
        #expect(try w.train(["--epochs", "2", "--resume", checkpoint, "--learning-rate", "0.002"]).status == 0)
        #expect(try w.train(["--epochs", "1", "--learning-rate", "0"]).status != 0)
        #expect(try w.train(["--epochs", "1", "--optimizer", "sgd", "--beta-1", "0.8"]).status != 0)
    }

    /// Keras 3 weights name their optimizer's class but not its hyperparameters: `convert` says when
    /// Keras' defaults do not fit the state, and `--optimizer` with its options carries it.
    @Test func convertCarriesStateTheUserNames() throws {
        let w = try TrainWorkspace(trainCount: 16, testCount: 8)
        #expect(try w.train(["--epochs", "1", "--optimizer", "sgd", "--momentum", "0.9", "--checkpoint", w.path("s.keras")]).status == 0)
        #expect(try CLI.run(["export", w.path("s.keras"), w.path("s.weights.h5")]).stdout.contains("SGD state at iteration 2 written"))
        let guessed = try CLI.run(["convert", w.path("s.weights.h5"), w.path("guessed.keras")])
        #expect(guessed.status == 0 && guessed.stdout.contains("optimizer state not written"), "\(guessed.stdout)")
        let named = try CLI.run(["convert", w.path("s.weights.h5"), w.path("named.keras"), "--optimizer", "sgd", "--momentum", "0.9"])
        #expect(named.stdout.contains("SGD state at iteration 2 written"), "\(named.stdout) \(named.stderr)")
        let diff = try CLI.run(["diff", w.path("s.keras"), w.path("named.keras")])
        #expect(diff.status == 0 && diff.stdout.hasSuffix("\nequal\n"), "\(diff.stdout)")
    }
}
