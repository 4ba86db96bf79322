import Foundation
import TestSupport
import Testing

/// `densenet-io export` and `import`: checkpoints out to Keras/PyTorch files and back in.
@Suite struct ExportImportCommandTests {
    @Test func exportedWeightsEqualTheCheckpointAndImportResumesTraining() throws {
        let w = try TrainWorkspace()
        #expect(try w.train(["--epochs", "1", "--checkpoint", w.path("run.h5")]).status == 0)
        for name in ["run.weights.h5", "run.safetensors", "run-weights.h5"] {
            let exported = try CLI.run(["export", w.path("run.h5"), w.path(name)])
            #expect(exported.status == 0, "\(exported.stderr)")
            #expect(exported.stdout.contains("1 epoch and 0 steps trained"))
            #expect(try CLI.run(["diff", w.path("run.h5"), w.path(name)]).status == 0, "\(name) differs from the checkpoint")
        }
        let imported = try CLI.run([
            "import", w.path("run.weights.h5"), w.path("again.h5"), "--data", w.data,
            "--batch-size", "8", "--seed", "3"
        ])
        #expect(imported.status == 0, "\(imported.stderr)")
        // Keras 3 weights keep the optimizer, as save_weights of a compiled model does.
        #expect(imported.stdout.contains("Adam state restored (iteration "))
        let resumed = try w.train(["--resume", w.path("again.h5"), "--epochs", "1"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.epochLines.count == 1)
    }

    @Test func exportToAnArchiveKeepsTheWholeTrainingState() throws {
        let w = try TrainWorkspace()
        #expect(try w.train(["--epochs", "2", "--checkpoint", w.path("run.h5"), "--stop-after", "3"]).status == 0)
        let exported = try CLI.run(["export", w.path("run.h5"), w.path("run.keras")])
        #expect(exported.status == 0, "\(exported.stderr)")
        let fromH5 = try w.train(["--resume", w.path("run.h5"), "--epochs", "2"])
        let fromArchive = try w.train(["--resume", w.path("run.keras"), "--epochs", "2"])
        #expect(fromH5.status == 0)
        #expect(fromArchive.status == 0)
        #expect(fromArchive.epochLines == fromH5.epochLines)
    }

    @Test func importingAKerasArchiveRestoresItsAdamState() throws {
        let w = try TrainWorkspace()
        let imported = try CLI.run(["import", Fixture.keras3Archive, w.path("run.keras"), "--data", w.data])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("Adam state restored (iteration 5, "))
    }

    @Test func exportRefusesAWeightsOnlyFile() throws {
        let w = try TrainWorkspace()
        let result = try CLI.run(["export", Fixture.tfKerasWeights, w.path("out.h5")])
        #expect(result.status == 2)
        #expect(result.stderr.contains("tutorial_tfkeras.h5"))
        #expect(result.stderr.contains("checkpoint"))
        #expect(!FileManager.default.fileExists(atPath: w.path("out.h5")))
    }

    /// A subclassed model's pair (save_weights .h5 + tf-keras optimizer .h5) becomes a checkpoint that
    /// resumes, and its optimizer state exports back to the very file tf-keras wrote.
    @Test func importTakesTheSubclassedPair() throws {
        let w = try TrainWorkspace()
        let optimizerFile = Fixture.path("keras/tutorial_tfkeras_opt.h5")
        let imported = try CLI.run([
            "import", Fixture.tfKerasWeights, w.path("ck.h5"), "--data", w.data, "--optimizer", optimizerFile, "--batch-size", "8",
            "--seed", "3"
        ])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("Adam state restored (iteration 5, from \(optimizerFile)"))
        #expect(try CLI.run(["export", w.path("ck.h5"), w.path("opt.h5"), "--to", "keras2-optimizer"]).status == 0)
        let diff = try CLI.run(["diff", optimizerFile, w.path("opt.h5")])
        #expect(diff.status == 0 && diff.stdout.hasSuffix("\nequal\n"), "\(diff.stdout)")
        #expect(try w.train(["--resume", w.path("ck.h5"), "--epochs", "1"]).epochLines.count == 1)
    }

    /// Optimizer state of another model, of an optimizer the engine lacks: exit 2, the file and what was
    /// expected named, nothing written.
    @Test func importRefusesForeignOptimizerState() throws {
        let w = try TrainWorkspace()
        let out = w.path("ck.h5")
        let foreign = try CLI.run([
            "import", Fixture.tfKerasWeights, out, "--data", w.data, "--optimizer", Fixture.path("keras/resume/tfkeras_adam_optimizer.h5")
        ])
        #expect(
            foreign.status == 2 && foreign.stderr.contains("tfkeras_adam_optimizer.h5") && foreign.stderr.contains("slot arrays"),
            "\(foreign.stderr)")
        let adagrad = try CLI.run(["import", Fixture.path("keras/resume/tfkeras_adagrad.h5"), out, "--data", w.data])
        #expect(
            adagrad.status == 2 && adagrad.stderr.contains("Adagrad") && adagrad.stderr.contains("tfkeras_adagrad.h5"), "\(adagrad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
