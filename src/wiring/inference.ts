// Which Inference adapter serves segment-infer: the INFERENCE_BACKEND, its module loaded
// only when chosen (the SageMaker SDK is not in every process's start-up).
import type { Inference, ObjectStore } from '../ports/index.js';
import { awsOptions } from '../adapters/aws/client-config.js';
import type { Config } from '../runtime/config/schema.js';
import { EXIT, UserError } from '../runtime/errors.js';

/** The configured backend; `storeOf` gives the store of an s3:// bucket the backend reads or writes. */
export async function chooseInference(config: Config, storeOf: (bucket: string) => ObjectStore): Promise<Inference> {
  switch (config.INFERENCE_BACKEND) {
    case 'stub': {
      const { StubInference } = await import('../adapters/inference/stub.js');
      return new StubInference(storeOf);
    }
    case 'ffmpeg': {
      const [{ FfmpegInference }, { locateConfiguredFfmpeg }] = await Promise.all([import('../adapters/inference/ffmpeg.js'), import('../runtime/ffmpeg/index.js')]);
      let ffmpeg: ReturnType<typeof locateConfiguredFfmpeg> | undefined;
      return new FfmpegInference({
        storeOf, workDir: config.WORK_DIR, stallSeconds: config.FFMPEG_STALL_SECONDS,
        ffmpeg: () => (ffmpeg ??= locateConfiguredFfmpeg(config)),
      });
    }
    case 'http': {
      const { HttpInference } = await import('../adapters/inference/http.js');
      return new HttpInference({ url: config.INFERENCE_HTTP_URL, timeoutSeconds: config.INFERENCE_HTTP_TIMEOUT_SECONDS });
    }
    case 'sagemaker': {
      const { SageMakerInference, createSageMakerRuntimeClient } = await import('../adapters/inference/sagemaker.js');
      return new SageMakerInference({
        client: createSageMakerRuntimeClient(awsOptions(config, 'sagemaker-runtime')),
        endpointName: config.SAGEMAKER_ENDPOINT_NAME,
        ...(config.SAGEMAKER_ASYNC ? { async: { storeOf, timeoutSeconds: config.SAGEMAKER_ASYNC_TIMEOUT_SECONDS } } : {}),
      });
    }
    default:
      throw new UserError(`INFERENCE_BACKEND=${config.INFERENCE_BACKEND} is not available in this build yet`, EXIT.NOT_AVAILABLE);
  }
}
