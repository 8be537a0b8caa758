// The multipart `Upload` scalar (graphql-upload); the middleware is mounted in src/server/app.ts.
import GraphQLUpload from 'graphql-upload/GraphQLUpload.mjs';

export { GraphQLUpload };
