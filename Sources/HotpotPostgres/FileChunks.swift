import Foundation
import NIOCore

/// A file (or standard input) as a sequence of chunks, read as they are consumed.
public struct FileChunks: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    let handle: FileHandle
    let chunkSize: Int

    public init(handle: FileHandle, chunkSize: Int = 1 << 20) {
        self.handle = handle
        self.chunkSize = chunkSize
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle
        let chunkSize: Int

        public mutating func next() async throws -> ByteBuffer? {
            guard let data = try handle.read(upToCount: chunkSize), !data.isEmpty else { return nil }
            return ByteBuffer(data: data)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handle: handle, chunkSize: chunkSize) }
}
