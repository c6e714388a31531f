// Process-wide environment for the handlers under test: quiet logs, no EMF output, dummy
// credentials for the real AWS SDK clients (dynalite and the fake management API accept any).
process.env.LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
process.env.AUTH_MODE = 'static';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
