import { z } from 'zod';

export const EmailSchema = z.email().max(254).transform((e) => e.toLowerCase());
export const PasswordSchema = z.string().min(8).max(256);

export const SignupSchema = z.strictObject({ email: EmailSchema, password: PasswordSchema });
export const LoginSchema = z.strictObject({ email: EmailSchema, password: z.string().min(1).max(256) });
export type SignupInput = z.infer<typeof SignupSchema>;
export type LoginInput = z.infer<typeof LoginSchema>;

export interface User {
  userId: string;
  email: string;
  /** `scrypt$N$r$p$salt$hash`, base64 parts. */
  passwordHash: string;
  createdAt: Date;
}
