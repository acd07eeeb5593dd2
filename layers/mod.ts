/**
 * Layers, networks and tensors, generic over the storage format.
 *
 * @module
 */
export * from "./storage/mod.ts";
export * from "./tensor.ts";
export type { FusedOutputs, Layer } from "./layer.ts";
export * from "./conv.ts";
export * from "./relu.ts";
export * from "./pool.ts";
export * from "./dropout.ts";
export * from "./affine.ts";
export * from "./softmax.ts";
export * from "./scale.ts";
export * from "./flatten.ts";
export * from "./zero_pad.ts";
export * from "./avg_pool.ts";
export * from "./batch_norm.ts";
export * from "./sequential.ts";
export * from "./init.ts";
export * from "./deep_conv_net.ts";
export * from "./loss.ts";
export * from "./spec.ts";
export * from "./kernel_path.ts";
export * from "./optimizer.ts";
export * from "./loss_scale.ts";
export * from "./random.ts";
export { layerStreams, PARAMETERS_KEY, roundImages } from "./rounding_streams.ts";
export type { ScaledOperands } from "./_scaled_operands.ts";
