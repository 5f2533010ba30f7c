/**
 * The slice of the AWS SDK the S3 store uses, and its adapter over a real S3Client. The store
 * depends on this interface only (tusd's S3API idea), so a fake can stand in for S3 and the
 * SDK surface we rely on is written down in one place.
 */
import {
  CreateBucketCommand,
  type CreateBucketCommandInput,
  DeleteObjectCommand,
  type DeleteObjectCommandInput,
  GetObjectCommand,
  type GetObjectCommandInput,
  HeadBucketCommand,
  type HeadBucketCommandInput,
  HeadObjectCommand,
  type HeadObjectCommandInput,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'

export interface S3Api {
  headObject(input: HeadObjectCommandInput): Promise<{ ContentLength?: number | undefined }>
  putObject(input: PutObjectCommandInput): Promise<unknown>
  /** The object's bytes. */
  getObject(input: GetObjectCommandInput): Promise<Uint8Array>
  deleteObject(input: DeleteObjectCommandInput): Promise<unknown>
  headBucket(input: HeadBucketCommandInput): Promise<unknown>
  createBucket(input: CreateBucketCommandInput): Promise<unknown>
  /**
   * A presigned PutObject URL. Headers named in `signedHeaders` stay signed headers the
   * client must send, instead of being hoisted into the query string.
   */
  presignPutObject(
    input: PutObjectCommandInput,
    expiresIn: number,
    signedHeaders: ReadonlySet<string>,
  ): Promise<string>
  presignGetObject(input: GetObjectCommandInput, expiresIn: number): Promise<string>
  destroy(): void
}

export interface S3ClientConfig {
  /** e.g. http://127.0.0.1:9000 for MinIO or s3rver; omit for AWS. */
  endpoint?: string
  region: string
  accessKeyId?: string
  secretAccessKey?: string
  /** bucket in the path (MinIO, s3rver) rather than in the host name. */
  forcePathStyle?: boolean
}

export function sdkS3Api(config: S3ClientConfig): S3Api {
  const client = new S3Client({
    region: config.region,
    forcePathStyle: config.forcePathStyle ?? false,
    ...(config.endpoint && { endpoint: config.endpoint }),
    // Without explicit keys the SDK's default chain applies (env, profile, instance role).
    ...(config.accessKeyId &&
      config.secretAccessKey && {
        credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
      }),
    // We send our own SHA-256 checksums; the SDK need not add CRC32 ones on top.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  })
  return {
    headObject: (input) => client.send(new HeadObjectCommand(input)),
    putObject: (input) => client.send(new PutObjectCommand(input)),
    async getObject(input) {
      const out = await client.send(new GetObjectCommand(input))
      if (!out.Body) throw new Error(`S3 GetObject ${input.Key} returned no body`)
      return out.Body.transformToByteArray()
    },
    deleteObject: (input) => client.send(new DeleteObjectCommand(input)),
    headBucket: (input) => client.send(new HeadBucketCommand(input)),
    createBucket: (input) => client.send(new CreateBucketCommand(input)),
    presignPutObject: (input, expiresIn, signedHeaders) =>
      getSignedUrl(client, new PutObjectCommand(input), {
        expiresIn,
        unhoistableHeaders: new Set(signedHeaders),
      }),
    presignGetObject: (input, expiresIn) =>
      getSignedUrl(client, new GetObjectCommand(input), { expiresIn }),
    destroy: () => client.destroy(),
  }
}
