import Foundation
import KerasFormat
import TestSupport
import Testing

@testable import densenet_io

/// What users expect of a command-line tool: --version, a suggestion for a typo, format names in
/// any case, refusals before any work that say what is wrong in the user's own words.
@Suite struct CLIMannersTests {
    @Test func versionPrintsTheOneVersionString() throws {
        let result = try CLI.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout == "\(DenseNetIO.version)\n")
        #expect(DenseNetIO.configuration.version == DenseNetIO.version)
    }

    @Test func aMistypedCommandGetsASuggestion() throws {
        let typo = try CLI.run(["convrt", Fixture.tfKerasWeights, "x.h5"])
        #expect(typo.status == 2)
        #expect(typo.stderr == "densenet-io: unknown command 'convrt'; did you mean 'convert'?\n")
        #expect(try CLI.run(["Inspect", Fixture.tfKerasWeights]).stderr.contains("did you mean 'inspect'?"))
        let unrelated = try CLI.run(["frobnicate"])
        #expect(unrelated.status == 2)
        #expect(unrelated.stderr.contains("unknown command 'frobnicate'; the commands are train, inspect, diff, convert"))
        #expect(editDistance("convrt", "convert") == 1)
        #expect(editDistance("", "plot") == 4)
        #expect(editDistance("inspetc", "inspect") == 2)
    }

    @Test func formatNamesAreTakenInAnyLetterCase() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for (name, file, format) in [("Keras3", "a.weights.h5", WeightFileFormat.keras3Weights), ("SAFETENSORS", "a.bin", .safetensors)] {
            let output = folder.appendingPathComponent(file).path
            let result = try CLI.run(["convert", Fixture.tfKerasWeights, output, "--to", name])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try WeightFile(output).format == format)
        }
    }

    /// `--to safetensors` into `x.h5` would write a safetensors file that every tool takes for HDF5.
    @Test func anEndingThatContradictsToIsRefused() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let h5 = folder.appendingPathComponent("x.h5").path
        let result = try CLI.run(["convert", Fixture.tfKerasWeights, h5, "--to", "safetensors"])
        #expect(result.status == 2)
        #expect(
            result.stderr.hasPrefix(
                "densenet-io: Error: --to safetensors writes .safetensors files, but \(h5) ends in .h5 (keras2); "
                    + "name it \(folder.path)/x.safetensors, or leave out --to\n"))
        #expect(!FileManager.default.fileExists(atPath: h5))
        let keras3 = try CLI.run(["export", "run.h5", folder.appendingPathComponent("x.weights.h5").path, "--to", "keras2"])
        #expect(keras3.status == 2)
        #expect(keras3.stderr.contains("--to keras2 writes .h5 or .hdf5 files, but"))
        #expect(
            try CLI.run(["convert", Fixture.tfKerasWeights, folder.appendingPathComponent("m.h5").path, "--to", "Checkpoint"]).status == 0)
    }

    @Test func saveListsEveryAcceptedEnding() throws {
        let result = try CLI.run(["train", "--save", "out.txt"])
        #expect(result.status == 2)
        #expect(
            result.stderr.hasPrefix(
                "densenet-io: Error: --save needs a file name ending in .h5, .hdf5, .weights.h5, .safetensors or .keras, got out.txt\n"))
    }

    @Test func sumsNamesItsTwoModes() throws {
        for command in ["train", "bench"] {
            let result = try CLI.run([command, "--sums", "float32"])
            #expect(result.status == 2, "\(command)")
            #expect(result.stderr.contains("--sums"), "\(command): \(result.stderr)")
            #expect(result.stderr.contains("tensorflow") && result.stderr.contains("float64"), "\(command): \(result.stderr)")
        }
    }

    /// Every command that writes refuses a missing folder before any work, in one line that names
    /// the file and the folder: no temporary file name, no libhdf5 error stack.
    @Test func aMissingFolderIsNamedBeforeAnyWork() throws {
        let folder = temporaryPath("absent")
        let output = "\(folder)/y.h5"
        let commands: [[String]] = [
            ["convert", Fixture.tfKerasWeights, output], ["export", "run.h5", output], ["import", Fixture.tfKerasWeights, output],
            ["train", "--save", output], ["train", "--csv", "\(folder)/y.h5"], ["plot", "log.csv", "-o", output]
        ]
        for command in commands {
            let result = try CLI.run(command)
            #expect(result.status == 2, "\(command)")
            #expect(result.stderr == "densenet-io: Error: cannot write \(output): no such directory \(folder)\n", "\(command)")
        }
    }

    @Test func completionScriptsCompleteFilesAndValues() throws {
        let bash = try CLI.run(["--generate-completion-script", "bash"])
        #expect(bash.status == 0)
        for values in [
            "keras2'$'\\n''keras3'$'\\n''safetensors'$'\\n''keras'$'\\n''checkpoint", "adam'$'\\n''adamw'$'\\n''sgd'$'\\n''rmsprop"
        ] {
            #expect(bash.stdout.contains(values), "\(values)")
        }
        #expect(bash.stdout.contains("densenet-mini'$'\\n''densenet121"))
        let zsh = try CLI.run(["--generate-completion-script", "zsh"])
        #expect(zsh.stdout.contains(":input:_files"))
        #expect(zsh.stdout.contains(":file:_files"))
        #expect(
            zsh.stdout.contains(
                "--data[A folder with the four MNIST-format IDX files (raw or .gz; images N×H×W, or N×H×W×C for colour).]:data:_files -/"
            ))
    }
}
