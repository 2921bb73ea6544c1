import type { ChunkSource } from '../core/payload';
import type { FrameDecoder } from '../protocol/frame-decoder';

/**
 * A native connection's payload bytes as a {@link ChunkSource}. They share
 * the connection with frames, so the first ones may already sit in the frame
 * decoder (they came in the same chunk as the command), and a chunk from the
 * socket may run past the payload into the next frame: those bytes go back
 * to the decoder, so the next frame starts where the client thinks it does.
 */
export function framedPayloadSource(decoder: FrameDecoder, fromSocket: () => Promise<Buffer | null>): ChunkSource {
  return {
    async pull(max: number): Promise<Buffer | null> {
      const buffered = decoder.takeRaw(max);
      if (buffered) return buffered;
      const fresh = await fromSocket();
      if (!fresh) return null;
      if (fresh.length <= max) return fresh;
      decoder.push(fresh.subarray(max));
      return fresh.subarray(0, max);
    },
  };
}
