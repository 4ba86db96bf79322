import Foundation

/// Learning curves as an SVG page: loss on the left, accuracy on the right, the training metric
/// (blue, solid) against the test metric (orange, dashed), per epoch — from a `CSVLog` file or any
/// Keras `CSVLogger` file with those columns.
public struct CurvePlot {
    /// One panel's series: (label, x = epoch, y) per point.
    struct Series {
        let label: String
        let points: [(x: Double, y: Double)]
        let color: String
        let dashed: Bool
    }

    let title: String
    let panels: [(title: String, series: [Series])]

    /// The curves of a CSV log's `loss`/`val_loss` and `accuracy`/`val_accuracy` columns.
    public init(csv path: String) throws {
        let (columns, rows) = try CSVLog.read(path)
        func series(_ column: String, _ label: String, _ color: String, dashed: Bool) throws -> Series {
            guard let epoch = columns.firstIndex(of: "epoch"), let index = columns.firstIndex(of: column) else {
                throw RecordError(path: path, problem: "has no epoch and \(column) columns (found \(columns.joined(separator: ",")))")
            }
            return Series(label: label, points: rows.map { ($0[epoch] + 1, $0[index]) }, color: color, dashed: dashed)
        }
        title = URL(fileURLWithPath: path).lastPathComponent
        panels = [
            ("Loss", [try series("loss", "train", "#1f77b4", dashed: false), try series("val_loss", "test", "#ff7f0e", dashed: true)]),
            (
                "Accuracy",
                [
                    try series("accuracy", "train", "#1f77b4", dashed: false),
                    try series("val_accuracy", "test", "#ff7f0e", dashed: true)
                ]
            )
        ]
    }

    /// Writes `svg` to `path`, atomically.
    public func write(to path: String) throws { try RecordFile.replace(path, with: Data(svg.utf8)) }

    /// The SVG document (960×400, two panels with axes, ticks, points and a legend).
    public var svg: String {
        let width = 960.0, height = 400.0
        var body = ["<text x=\"\(width / 2)\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">\(escaped(title))</text>"]
        for (index, panel) in panels.enumerated() {
            body += draw(panel, frame: (x: 70 + Double(index) * width / 2, y: 50, width: width / 2 - 110, height: height - 110))
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" \
            font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            \(body.joined(separator: "\n"))
            </svg>

            """
    }

    private func draw(_ panel: (title: String, series: [Series]), frame: (x: Double, y: Double, width: Double, height: Double)) -> [String]
    {
        let points = panel.series.flatMap(\.points)
        let (xs, ys) = (points.map(\.x), points.map(\.y))
        let xRange = (xs.min() ?? 0, Swift.max(xs.max() ?? 1, (xs.min() ?? 0) + 1))
        var yRange = (ys.min() ?? 0, ys.max() ?? 1)
        if yRange.1 - yRange.0 < 1e-9 { yRange = (yRange.0 - 0.5, yRange.1 + 0.5) }
        let pad = (yRange.1 - yRange.0) * 0.05
        yRange = (yRange.0 - pad, yRange.1 + pad)
        func px(_ x: Double) -> Double { frame.x + (x - xRange.0) / (xRange.1 - xRange.0) * frame.width }
        func py(_ y: Double) -> Double { frame.y + frame.height - (y - yRange.0) / (yRange.1 - yRange.0) * frame.height }
        var out = [
            "<text x=\"\(frame.x + frame.width / 2)\" y=\"\(frame.y - 8)\" text-anchor=\"middle\" font-size=\"14\">\(panel.title)</text>",
            "<rect x=\"\(frame.x)\" y=\"\(frame.y)\" width=\"\(frame.width)\" height=\"\(frame.height)\" fill=\"none\" stroke=\"#888\"/>",
            "<text x=\"\(frame.x + frame.width / 2)\" y=\"\(frame.y + frame.height + 36)\" text-anchor=\"middle\">epoch</text>"
        ]
        for tick in 0...4 {
            let y = yRange.0 + Double(tick) / 4 * (yRange.1 - yRange.0)
            out.append("<text x=\"\(frame.x - 6)\" y=\"\(py(y) + 4)\" text-anchor=\"end\">\(String(format: "%.3g", y))</text>")
            out.append("<line x1=\"\(frame.x)\" x2=\"\(frame.x + frame.width)\" y1=\"\(py(y))\" y2=\"\(py(y))\" stroke=\"#eee\"/>")
        }
        let epochs = Set(xs.map { Int($0) }).sorted()
        let step = Swift.max(1, epochs.count / 10)
        for epoch in epochs where epoch % step == 0 {
            out.append("<text x=\"\(px(Double(epoch)))\" y=\"\(frame.y + frame.height + 18)\" text-anchor=\"middle\">\(epoch)</text>")
        }
        for (index, series) in panel.series.enumerated() {
            let path = series.points.map { "\(px($0.x)),\(py($0.y))" }.joined(separator: " ")
            let dash = series.dashed ? " stroke-dasharray=\"6 4\"" : ""
            out.append("<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"2\"\(dash)/>")
            out += series.points.map { "<circle cx=\"\(px($0.x))\" cy=\"\(py($0.y))\" r=\"3\" fill=\"\(series.color)\"/>" }
            let legendY = frame.y + 16 + Double(index) * 16
            out.append(
                "<line x1=\"\(frame.x + frame.width - 90)\" x2=\"\(frame.x + frame.width - 66)\" y1=\"\(legendY - 4)\" y2=\"\(legendY - 4)\" stroke=\"\(series.color)\" stroke-width=\"2\"\(dash)/>"
            )
            out.append("<text x=\"\(frame.x + frame.width - 60)\" y=\"\(legendY)\">\(series.label)</text>")
        }
        return out
    }

    private func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;")
    }
}
