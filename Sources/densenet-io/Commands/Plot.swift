import ArgumentParser
import TrainingRecords

/// `densenet-io plot LOG.csv -o curves.svg`: learning curves of a run's CSV log.
struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw the loss and accuracy curves of a training CSV log (train --csv, or Keras' CSVLogger) as SVG.")

    @Argument(help: "The CSV log (columns epoch, loss, accuracy, val_loss, val_accuracy).", completion: .file(extensions: ["csv"]))
    var log: String

    @Option(
        name: .shortAndLong, help: ArgumentHelp("The SVG file to write.", valueName: "file.svg"), completion: .file(extensions: ["svg"]))
    var output: String

    func validate() throws { try checkOutputFolder(output) }

    func run() throws {
        try CurvePlot(csv: log).write(to: output)
        print("Plotted \(log) to \(output)")
    }
}
