import Foundation
import KerasFormat
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

    /// Adam's learning rate goes into the checkpoint; the other optimizers cannot be checkpointed yet,
    /// and a resumed run keeps its checkpoint's optimizer.
    @Test func checkpointsRecordAdamsLearningRateAndRefuseTheRest() throws {
        let w = try TrainWorkspace(trainCount: 16, testCount: 8)
        let checkpoint = w.path("c.h5")
        let first = try w.train(["--epochs", "1", "--learning-rate", "0.002", "--checkpoint", checkpoint])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try TrainingCheckpoint.readInfo(checkpoint).optimizer.learningRate == 0.002)
        let refusedCheckpoint = try w.train(["--epochs", "1", "--optimizer", "sgd", "--checkpoint", w.path("s.h5")])
        #expect(refusedCheckpoint.status != 0 && refusedCheckpoint.stderr.contains("Adam's state only"), "\(refusedCheckpoint.stderr)")
        #expect(!FileManager.default.fileExists(atPath: w.path("s.h5")))
        let refusedResume = try w.train(["--epochs", "2", "--resume", checkpoint, "--optimizer", "rmsprop"])
        #expect(refusedResume.status != 0 && refusedResume.stderr.contains("checkpoint's optimizer"), "\(refusedResume.stderr)")
        #expect(try w.train(["--epochs", "1", "--learning-rate", "0"]).status != 0)
    }
}
