/** The bucket the test S3 server holds (each test takes its own prefix in it). */
export const S3_BUCKET = 'blyan-test';
/** s3rver's built-in account. */
export const S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
